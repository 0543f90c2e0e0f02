package gridhook_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

func newKey(t *testing.T) (secret, public string) {
	t.Helper()
	secret, public, err := gridhook.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return secret, public
}

func TestSignVerify(t *testing.T) {
	secret, _ := newKey(t)
	key, err := gridhook.ParseSigningSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"Webhook:1","type":"CUSTOMER.KYC_APPROVED"}`)
	h, err := gridhook.Sign(key, body)
	if err != nil {
		t.Fatal(err)
	}
	if err := gridhook.Verify(&key.PublicKey, h, body); err != nil {
		t.Fatalf("Verify(own signature) = %v", err)
	}
	otherSecret, _ := newKey(t)
	other, _ := gridhook.ParseSigningSecret(otherSecret)
	for name, tc := range map[string]struct {
		header string
		body   []byte
	}{
		"body changed":  {h, append(append([]byte{}, body...), ' ')},
		"not JSON":      {"garbage", body},
		"wrong version": {strings.Replace(h, `"v":"1"`, `"v":"2"`, 1), body},
		"not base64":    {`{"v":"1","s":"%%%"}`, body},
		"empty":         {"", body},
		"another key":   {func() string { s, _ := gridhook.Sign(other, body); return s }(), body},
		"truncated sig": {`{"v":"1","s":"` + base64.StdEncoding.EncodeToString([]byte{0x30, 0x02}) + `"}`, body},
	} {
		t.Run(name, func(t *testing.T) {
			if err := gridhook.Verify(&key.PublicKey, tc.header, tc.body); !errors.Is(err, gridhook.ErrBadSignature) {
				t.Fatalf("Verify = %v; want ErrBadSignature", err)
			}
		})
	}
}

func TestNoticesShapeAndTypes(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 123e6, time.UTC)
	c := kyc.Customer{ID: "Customer:1", PlatformID: "p1", Type: kyc.Business, KYBStatus: "APPROVED", KYCStatus: "PENDING",
		PlatformCustomerID: "u-1", Email: "a@example.com", CreatedAt: time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC), UpdatedAt: at,
		Owners: []kyc.BeneficialOwner{{ID: "BeneficialOwner:1", Roles: []string{"UBO"}, OwnershipPercentage: 60, FirstName: "Jane",
			LastName: "Roe", IDType: "SSN", IdentifierSealed: []byte("sealed"), KYCStatus: kyc.StatusApproved, CreatedAt: at, UpdatedAt: at}}}
	n, err := gridhook.Notices(c, kyc.StatusApproved, at)
	if err != nil || n == nil {
		t.Fatalf("Notices = %v, %v", n, err)
	}
	var env gridhook.Envelope
	if err := json.Unmarshal(n.Body, &env); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(env.ID, "Webhook:") || env.ID != n.ID || n.PlatformID != "p1" || n.Type != env.Type {
		t.Fatalf("notice %+v does not match its body %+v", n, env)
	}
	want := gridhook.Envelope{ID: env.ID, Type: "CUSTOMER.KYB_APPROVED", Timestamp: "2026-11-26T10:00:00.123Z",
		Data: gridhook.Customer{ID: "Customer:1", PlatformCustomerID: "u-1", CustomerType: "BUSINESS", UmaAddress: "$1@kyc-link.invalid", KYBStatus: "APPROVED",
			Email: "a@example.com", CreatedAt: "2025-10-13T12:00:00.000Z", UpdatedAt: "2026-11-26T10:00:00.123Z",
			BeneficialOwners: &[]kyc.OwnerView{{ID: "BeneficialOwner:1", CustomerID: "Customer:1", Roles: []string{"UBO"}, OwnershipPercentage: 60,
				PersonalInfo: kyc.PersonalInfoView{FirstName: "Jane", LastName: "Roe", IDType: "SSN"}, KYCStatus: kyc.StatusApproved,
				CreatedAt: "2026-11-26T10:00:00.123Z", UpdatedAt: "2026-11-26T10:00:00.123Z"}}}}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Fatalf("envelope (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		typ    kyc.CustomerType
		status kyc.Status
		want   string
	}{
		{kyc.Individual, kyc.StatusApproved, "CUSTOMER.KYC_APPROVED"},
		{kyc.Individual, kyc.StatusRejected, "CUSTOMER.KYC_REJECTED"},
		{kyc.Individual, kyc.StatusPending, "CUSTOMER.KYC_PENDING"},
		{"", kyc.StatusPending, "CUSTOMER.KYC_PENDING"},
		{kyc.Business, kyc.StatusRejected, "CUSTOMER.KYB_REJECTED"},
		{kyc.Business, kyc.StatusPending, "CUSTOMER.KYB_PENDING"},
		{kyc.Individual, kyc.StatusHold, ""},
		{kyc.Business, kyc.StatusHold, ""},
	} {
		if got := gridhook.Type(tc.typ, tc.status); got != tc.want {
			t.Errorf("Type(%s, %s) = %q; want %q", tc.typ, tc.status, got, tc.want)
		}
	}
	if n, err := gridhook.Notices(c, kyc.StatusHold, at); n != nil || err != nil {
		t.Errorf("HOLD notice = %v, %v; want none (Grid defines no HOLD webhook)", n, err)
	}
}

func TestParseSigningSecretRefusesOtherKeys(t *testing.T) {
	for _, s := range []string{``, `{}`, `{"privateKeyPem":"x"}`, `{"privateKeyPem":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`} {
		if _, err := gridhook.ParseSigningSecret(s); err == nil {
			t.Errorf("ParseSigningSecret(%q) accepted", s)
		}
	}
}

// TestNoticesCarryTheUmaAddress: a webhook's data has the customer's UMA
// address, Grid's required field: as the record has it, or, for a customer
// written before the platform API, the one GET /customers/{id} derives on
// the deployment's UMA domain.
func TestNoticesCarryTheUmaAddress(t *testing.T) {
	id := "Customer:019542f5-b3e7-7d02-8000-000000000001"
	for _, tc := range []struct {
		name, uma, want string
	}{
		{"kept", "$ada@pay.example", "$ada@pay.example"},
		{"derived", "", kyc.GeneratedUmaAddress(id, "uma.example")},
	} {
		n, err := gridhook.NoticesAt("uma.example")(kyc.Customer{ID: id, PlatformID: "p", UmaAddress: tc.uma, Region: "US"}, kyc.StatusPending, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var env gridhook.Envelope
		json.Unmarshal(n.Body, &env)
		if env.Data.UmaAddress != tc.want || env.Data.Region != "US" {
			t.Errorf("%s: data %+v; want umaAddress %s, region US", tc.name, env.Data, tc.want)
		}
	}
}

// TestNoticesCarryContactVerification: a webhook's data shows the
// customer's contactVerification as GET does: present where required,
// absent otherwise.
func TestNoticesCarryContactVerification(t *testing.T) {
	for _, tc := range []struct {
		name string
		cv   kyc.ContactVerification
		want *kyc.ContactVerificationView
	}{
		{"required", kyc.ContactVerification{Email: "VERIFIED", Phone: "PENDING"}, &kyc.ContactVerificationView{Email: "VERIFIED", Phone: "PENDING"}},
		{"email only", kyc.ContactVerification{Email: "VERIFIED"}, &kyc.ContactVerificationView{Email: "VERIFIED"}},
		{"not required", kyc.ContactVerification{}, nil},
	} {
		n, err := gridhook.Notices(kyc.Customer{ID: "Customer:1", PlatformID: "p", ContactVerification: tc.cv}, kyc.StatusPending, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var env gridhook.Envelope
		if err := json.Unmarshal(n.Body, &env); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, env.Data.ContactVerification); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		if tc.want == nil && strings.Contains(string(n.Body), "contactVerification") {
			t.Errorf("%s: %s", tc.name, n.Body)
		}
	}
}

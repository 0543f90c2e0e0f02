package kyc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

var now = time.Date(2026, 11, 26, 9, 0, 0, 123_000_000, time.UTC)

// newCustomers is the use case over the memory store, with a clock and ids
// the tests control.
func newCustomers(t *testing.T) (*kyc.Customers, *memstore.Customers, *memstore.Sealer) {
	t.Helper()
	store := memstore.NewCustomers()
	sealer := memstore.NewSealer()
	n := 0
	return &kyc.Customers{Store: store, Sealer: sealer, CursorKey: memstore.RandomKey(), UmaDomain: "uma.example.com",
		Now: func() time.Time { return now },
		NewID: func() (uuid.UUID, error) {
			n++
			return uuid.Parse(fmt.Sprintf("019ac0de-0000-7000-8000-%012d", n))
		}}, store, sealer
}

const individual = `{"customerType":"INDIVIDUAL","platformCustomerId":"ind-9f84e0c2","region":"US",
  "currencies":["USD","USDC"],"fullName":"Jane Smith","birthDate":"1990-01-15","nationality":"US",
  "email":"jane.smith@example.com","phoneNumber":"+14155551234","idType":"SSN","identifier":"123-45-6789",
  "address":{"line1":"123 Market Street","line2":"Suite 400","city":"Seattle","state":"WA","postalCode":"98101","country":"US"}}`

const business = `{"customerType":"BUSINESS","platformCustomerId":"biz-acme-001","region":"US","currencies":["USD"],
  "email":"finance@acme.com","phoneNumber":"+14155559876",
  "businessInfo":{"legalName":"Acme Corporation","doingBusinessAs":"Acme","country":"US","registrationNumber":"5523041",
    "incorporatedOn":"2018-03-14","entityType":"LLC","taxId":"47-1234567","countriesOfOperation":["US"],
    "businessType":"INFORMATION","purposeOfAccount":"CONTRACTOR_PAYOUTS","sourceOfFunds":"Customer payments",
    "expectedMonthlyTransactionCount":"COUNT_100_TO_500","expectedMonthlyTransactionVolume":"VOLUME_100K_TO_1M",
    "expectedRecipientJurisdictions":["US","MX"],"naicsCode":"541511","sourceOfFundsCategories":["OPERATING_REVENUE"]},
  "address":{"line1":"123 Market Street","postalCode":"98101","country":"US"}}`

func create(t *testing.T, c *kyc.Customers, platform, body string) kyc.CustomerView {
	t.Helper()
	in, err := kyc.ParseCustomerInput([]byte(body))
	if err != nil {
		t.Fatalf("ParseCustomerInput(%s) = %v", body, err)
	}
	v, err := c.Create(context.Background(), platform, in, "")
	if err != nil {
		t.Fatalf("Create(%s) = %v", body, err)
	}
	return v
}

func TestCreateAnswersGridsCustomer(t *testing.T) {
	c, _, _ := newCustomers(t)
	ind := create(t, c, "p1", individual)
	want := kyc.CustomerView{ID: "Customer:019ac0de-0000-7000-8000-000000000001", PlatformCustomerID: "ind-9f84e0c2",
		CustomerType: kyc.Individual, KYCStatus: kyc.StatusUnverified,
		UmaAddress: "$019ac0de-0000-7000-8000-000000000001@uma.example.com", Region: "US", Currencies: []string{"USD", "USDC"},
		Email: "jane.smith@example.com", PhoneNumber: "+14155551234", FullName: "Jane Smith", BirthDate: "1990-01-15",
		Nationality: "US", IDType: "SSN",
		Address:   &kyc.Address{Line1: "123 Market Street", Line2: "Suite 400", City: "Seattle", State: "WA", PostalCode: "98101", Country: "US"},
		CreatedAt: "2026-11-26T09:00:00.123Z", UpdatedAt: "2026-11-26T09:00:00.123Z"}
	if diff := cmp.Diff(want, ind); diff != "" {
		t.Errorf("individual (-want +got):\n%s", diff)
	}
	biz := create(t, c, "p1", business)
	if biz.KYBStatus != kyc.StatusUnverified || biz.KYCStatus != "" || biz.BusinessInfo == nil ||
		biz.BusinessInfo.LegalName != "Acme Corporation" || biz.BusinessInfo.NaicsCode != "541511" {
		t.Errorf("business = %+v", biz)
	}
	for _, v := range []kyc.CustomerView{ind, biz} {
		b, _ := json.Marshal(v)
		for _, secret := range []string{"123-45-6789", "47-1234567", "identifier", "taxId"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("answer %s carries %q", b, secret)
			}
		}
	}
}

func TestCreateGeneratesWhatGridGenerates(t *testing.T) {
	c, _, _ := newCustomers(t)
	v := create(t, c, "p1", `{"customerType":"INDIVIDUAL"}`)
	if len(v.PlatformCustomerID) != 15 || strings.Trim(v.PlatformCustomerID, "0123456789abcdef") != "" {
		t.Errorf("generated platformCustomerId %q; want 15 lower-case hex digits", v.PlatformCustomerID)
	}
	if v.UmaAddress != "$019ac0de-0000-7000-8000-000000000001@uma.example.com" {
		t.Errorf("generated umaAddress %q", v.UmaAddress)
	}
	w := create(t, c, "p1", `{"customerType":"INDIVIDUAL","umaAddress":"$Jane.Doe@Pay.Example.com"}`)
	if w.UmaAddress != "$jane.doe@pay.example.com" {
		t.Errorf("umaAddress %q; want it in lower case", w.UmaAddress)
	}
	if w.PlatformCustomerID == v.PlatformCustomerID {
		t.Errorf("two generated platformCustomerIds are equal: %q", v.PlatformCustomerID)
	}
	if got := kyc.GeneratedUmaAddress("Customer:019542f5-b3e7-1d02-0000-000000000001", kyc.DefaultUmaDomain); got != "$019542f5-b3e7-1d02-0000-000000000001@kyc-link.invalid" {
		t.Errorf("GeneratedUmaAddress = %q", got)
	}
}

// TestBadInput: every bad body is 400 INVALID_INPUT naming the field
// (details.field, and details.errors for all of them), and nothing is
// written.
func TestBadInput(t *testing.T) {
	ind := func(extra string) string { return `{"customerType":"INDIVIDUAL",` + extra + `}` }
	biz := func(info string) string {
		return `{"customerType":"BUSINESS","businessInfo":{"legalName":"A","country":"US","taxId":"47-1234567","incorporatedOn":"2018-03-14"` + info + `}}`
	}
	cases := []struct {
		name, body string
		fields     []string
	}{
		{"not JSON", `{`, []string{"body"}},
		{"array", `[]`, []string{"body"}},
		{"trailing data", `{"customerType":"INDIVIDUAL"} {}`, []string{"body"}},
		{"invalid UTF-8", "{\"customerType\":\"INDIVIDUAL\",\"fullName\":\"\xff\"}", []string{"body"}},
		{"no type", `{}`, []string{"customerType"}},
		{"bad type", `{"customerType":"PERSON"}`, []string{"customerType"}},
		{"type not a string", `{"customerType":1}`, []string{"customerType"}},
		{"unknown field", ind(`"nickname":"x"`), []string{"nickname"}},
		{"case-folded name", ind(`"Email":"a@example.com"`), []string{"Email"}},
		{"unknown nested field", ind(`"address":{"line1":"x","postalCode":"1","country":"US","zip":"1"}`), []string{"address.zip"}},
		{"long unknown field", ind(`"` + strings.Repeat("a", 99) + `éé":1`), []string{strings.Repeat("a", 99) + "…"}},
		{"repeated field", ind(`"email":"a@example.com","email":"b@example.com"`), []string{"email"}},
		{"null", ind(`"email":null`), []string{"email"}},
		{"read-only id", ind(`"id":"Customer:1"`), []string{"id"}},
		{"read-only isDeleted", ind(`"isDeleted":true`), []string{"isDeleted"}},
		{"Grid field not kept", ind(`"endUserTermsConsent":{}`), []string{"endUserTermsConsent"}},
		{"status other than UNVERIFIED", ind(`"kycStatus":"APPROVED"`), []string{"kycStatus"}},
		{"kybStatus on an individual", ind(`"kybStatus":"UNVERIFIED"`), []string{"kybStatus"}},
		{"bad email", ind(`"email":"Jane <jane@example.com>"`), []string{"email"}},
		{"email without dot", ind(`"email":"jane@localhost"`), []string{"email"}},
		{"phone not E.164", ind(`"phoneNumber":"4155551234"`), []string{"phoneNumber"}},
		{"phone too long", ind(`"phoneNumber":"+1234567890123456"`), []string{"phoneNumber"}},
		{"region lower case", ind(`"region":"us"`), []string{"region"}},
		{"region unknown", ind(`"region":"ZZ"`), []string{"region"}},
		{"currency", ind(`"currencies":["usd"]`), []string{"currencies[0]"}},
		{"repeated currency", ind(`"currencies":["USD","USD"]`), []string{"currencies[1]"}},
		{"currencies not an array", ind(`"currencies":"USD"`), []string{"currencies"}},
		{"blank name", ind(`"fullName":"  "`), []string{"fullName"}},
		{"name with control", ind(`"fullName":"Jane\u0007"`), []string{"fullName"}},
		{"long name", ind(`"fullName":"` + strings.Repeat("a", 251) + `"`), []string{"fullName"}},
		{"bad birth date", ind(`"birthDate":"1990-02-30"`), []string{"birthDate"}},
		{"birth date format", ind(`"birthDate":"15/01/1990"`), []string{"birthDate"}},
		{"future birth date", ind(`"birthDate":"2030-01-01"`), []string{"birthDate"}},
		{"nationality", ind(`"nationality":"USA"`), []string{"nationality"}},
		{"address without line1", ind(`"address":{"postalCode":"1","country":"US"}`), []string{"address.line1"}},
		{"address country", ind(`"address":{"line1":"x","postalCode":"1","country":"Germany"}`), []string{"address.country"}},
		{"identifier without idType", ind(`"identifier":"123-45-6789"`), []string{"idType"}},
		{"idType without identifier", ind(`"idType":"SSN"`), []string{"identifier"}},
		{"EIN for an individual", ind(`"idType":"EIN","identifier":"12-3456789"`), []string{"idType"}},
		{"unknown idType", ind(`"idType":"PASSPORT","identifier":"X1"`), []string{"idType"}},
		{"bad SSN", ind(`"idType":"SSN","identifier":"000-12-3456"`), []string{"identifier"}},
		{"SSN that is an ITIN", ind(`"idType":"SSN","identifier":"912-70-1234"`), []string{"identifier"}},
		{"bad ITIN", ind(`"idType":"ITIN","identifier":"123-45-6789"`), []string{"identifier"}},
		{"bad umaAddress", ind(`"umaAddress":"jane@example.com"`), []string{"umaAddress"}},
		{"umaAddress bad domain", ind(`"umaAddress":"$jane@localhost"`), []string{"umaAddress"}},
		{"umaAddress bad user", ind(`"umaAddress":"$ja ne@example.com"`), []string{"umaAddress"}},
		{"blank platformCustomerId", ind(`"platformCustomerId":""`), []string{"platformCustomerId"}},
		{"businessInfo on an individual", ind(`"businessInfo":{"legalName":"A"}`), []string{"businessInfo"}},
		{"individual fields on a business", `{"customerType":"BUSINESS","fullName":"J","identifier":"123-45-6789",
			"businessInfo":{"legalName":"A","country":"US","taxId":"47-1234567","incorporatedOn":"2018-03-14"}}`,
			[]string{"fullName", "identifier"}},
		{"business without businessInfo", `{"customerType":"BUSINESS"}`, []string{"businessInfo"}},
		{"businessInfo without required", `{"customerType":"BUSINESS","businessInfo":{"doingBusinessAs":"A"}}`,
			[]string{"businessInfo.legalName", "businessInfo.country", "businessInfo.taxId", "businessInfo.incorporatedOn"}},
		{"entityType", biz(`,"entityType":"LTD"`), []string{"businessInfo.entityType"}},
		{"naicsCode", biz(`,"naicsCode":"5415111"`), []string{"businessInfo.naicsCode"}},
		{"countriesOfOperation", biz(`,"countriesOfOperation":["US","XX"]`), []string{"businessInfo.countriesOfOperation[1]"}},
		{"sourceOfFundsCategories", biz(`,"sourceOfFundsCategories":["SALARY"]`), []string{"businessInfo.sourceOfFundsCategories[0]"}},
		{"incorporated in the future", `{"customerType":"BUSINESS","businessInfo":{"legalName":"A","country":"US","taxId":"47-1234567","incorporatedOn":"2099-01-01"}}`,
			[]string{"businessInfo.incorporatedOn"}},
		{"bad taxId", `{"customerType":"BUSINESS","businessInfo":{"legalName":"A","country":"US","taxId":"--","incorporatedOn":"2018-03-14"}}`,
			[]string{"businessInfo.taxId"}},
		{"several at once", ind(`"email":"x","phoneNumber":"1","region":"zz"`), []string{"region", "email", "phoneNumber"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, store, _ := newCustomers(t)
			var err error
			in, err := kyc.ParseCustomerInput([]byte(tc.body))
			if err == nil {
				_, err = c.Create(context.Background(), "p1", in, "")
			}
			e := kyc.AsError(err)
			if e.Code != kyc.CodeInvalid || e.Details["field"] != tc.fields[0] {
				t.Fatalf("error = %v (details %v); want INVALID_INPUT for %s", err, e.Details, tc.fields[0])
			}
			var got []string
			for _, f := range kyc.FieldErrors(err) {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			for _, secret := range []string{"123-45-6789", "912-70-1234", "000-12-3456", "47-1234567", "jane@example.com"} {
				if strings.Contains(e.Message, secret) || strings.Contains(fmt.Sprint(e.Details), secret) {
					t.Errorf("the error repeats a value sent: %s %v", e.Message, e.Details)
				}
			}
			if recs, _, _ := store.CustomerRange(context.Background(), kyc.RangeQuery{PlatformID: "p1", Limit: 10}); len(recs) != 0 {
				t.Errorf("a refused create stored %d customers", len(recs))
			}
		})
	}
}

func TestIdentifierForms(t *testing.T) {
	c, store, sealer := newCustomers(t)
	v := create(t, c, "p1", `{"customerType":"INDIVIDUAL","idType":"ITIN","identifier":"912701234"}`)
	r, err := store.CustomerRecord(context.Background(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := sealer.Open(r.IdentifierSealed, v.ID, "p1")
	if err != nil || string(plain) != "912-70-1234" {
		t.Fatalf("sealed identifier opens to %q, %v; want the canonical 912-70-1234", plain, err)
	}
	if bytes.Contains(r.IdentifierSealed, []byte("912")) {
		t.Errorf("the stored identifier holds plaintext digits")
	}
	if _, err := sealer.Open(r.IdentifierSealed, v.ID, "p2"); err == nil {
		t.Errorf("the ciphertext opened for another platform")
	}
}

// TestSecretNeverPrints: the identifier and the tax id are redacted in
// fmt, slog and JSON, however the input is printed.
func TestSecretNeverPrints(t *testing.T) {
	in, err := kyc.ParseCustomerInput([]byte(`{"customerType":"INDIVIDUAL","idType":"SSN","identifier":"123-45-6789"}`))
	if err != nil {
		t.Fatal(err)
	}
	biz, err := kyc.ParseCustomerInput([]byte(`{"customerType":"BUSINESS","businessInfo":{"legalName":"A","country":"US","taxId":"47-1234567","incorporatedOn":"2018-03-14"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.Identifier.Reveal() != "123-45-6789" || biz.BusinessInfo.TaxID.Reveal() != "47-1234567" {
		t.Fatalf("Reveal = %q, %q", in.Identifier.Reveal(), biz.BusinessInfo.TaxID.Reveal())
	}
	var out bytes.Buffer
	// No time in the lines: a timestamp's digits could hold "6789".
	noTime := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	for _, v := range []any{in, biz, *in.Identifier, in.Identifier, *biz.BusinessInfo, *biz.BusinessInfo.TaxID} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			fmt.Fprintf(&out, f+"\n", v)
		}
		b, _ := json.Marshal(v)
		out.Write(b)
		slog.New(slog.NewJSONHandler(&out, noTime)).Info("x", "input", v, "secret", *in.Identifier)
		slog.New(slog.NewTextHandler(&out, noTime)).Info("x", "input", v)
	}
	for _, secret := range []string{"123-45-6789", "47-1234567", "1234567", "6789"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("printed input carries %q:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), "[redacted]") {
		t.Errorf("nothing printed as [redacted]")
	}
}

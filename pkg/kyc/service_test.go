package kyc_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/customers"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

type recorder struct{ got []kyc.LinkRequest }

func (r *recorder) Name() string { return "SUMSUB" }
func (r *recorder) CreateLink(_ context.Context, req kyc.LinkRequest) (string, string, error) {
	r.got = append(r.got, req)
	return "https://link", "tok", nil
}

func TestService(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	p := &recorder{}
	s := &kyc.Service{
		Customers: customers.NewMemory(
			kyc.Customer{ID: "c1", PlatformID: "p1", Email: "e@example.com", PhoneNumber: "+1"},
			kyc.Customer{ID: "c2", PlatformID: "p1", Type: kyc.Business},
			kyc.Customer{ID: "c3", PlatformID: "p1", IsDeleted: true},
		),
		Provider: p, TTL: 30 * time.Minute, Now: func() time.Time { return now },
	}
	l, err := s.CreateLink(context.Background(), "p1", "c1", "https://r")
	if err != nil {
		t.Fatal(err)
	}
	// Expiry: now + TTL, in UTC, whole seconds.
	want := kyc.Link{URL: "https://link", Token: "tok", Provider: "SUMSUB", ExpiresAt: time.Date(2026, 1, 2, 2, 34, 5, 0, time.UTC)}
	if l != want {
		t.Fatalf("link = %+v; want %+v", l, want)
	}
	wantReq := kyc.LinkRequest{CustomerID: "c1", Type: kyc.Individual, Email: "e@example.com", PhoneNumber: "+1",
		RedirectURI: "https://r", TTL: 30 * time.Minute}
	if p.got[0] != wantReq {
		t.Fatalf("provider request = %+v; want %+v", p.got[0], wantReq)
	}
	s.CreateLink(context.Background(), "p1", "c2", "")
	if got := p.got[1].Type; got != kyc.Business {
		t.Fatalf("business customer sent as %s; want %s", got, kyc.Business)
	}
	for _, tc := range []struct{ name, platform, id string }{
		{"other platform's customer", "p2", "c1"}, {"deleted customer", "p1", "c3"}, {"missing customer", "p1", "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateLink(context.Background(), tc.platform, tc.id, "")
			if got, want := *kyc.AsError(err), *kyc.CustomerNotFound(); got.Code != want.Code || got.Message != want.Message {
				t.Errorf("err = %v; want the one not-found answer %v", err, &want)
			}
		})
	}
	if got := len(p.got); got != 2 {
		t.Fatalf("provider called %d times; want 2", got)
	}
}

// TestLinkForEveryReviewStatus: Grid lets a customer on HOLD (more
// information may be needed) or REJECTED (regenerate a link) verify again;
// the status never blocks a link.
func TestLinkForEveryReviewStatus(t *testing.T) {
	for _, st := range []kyc.Status{kyc.StatusUnverified, kyc.StatusPending, kyc.StatusHold, kyc.StatusRejected, kyc.StatusApproved} {
		t.Run(string(st), func(t *testing.T) {
			s := &kyc.Service{
				Customers: customers.NewMemory(kyc.Customer{ID: "c", PlatformID: "p", KYCStatus: string(st)},
					kyc.Customer{ID: "b", PlatformID: "p", Type: kyc.Business, KYBStatus: string(st)}),
				Provider: &recorder{}, TTL: time.Minute, Now: time.Now,
			}
			for _, id := range []string{"c", "b"} {
				if _, err := s.CreateLink(context.Background(), "p", id, ""); err != nil {
					t.Fatalf("%s with status %s: %v; want a link", id, st, err)
				}
			}
		})
	}
}

// TestContactVerificationGate: where contact verification is required, a
// link needs every present channel VERIFIED; otherwise 409 with the
// reason and the channels, and the provider is not asked.
func TestContactVerificationGate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cv       kyc.ContactVerification
		channels []string // nil: a link
	}{
		{"not required", kyc.ContactVerification{}, nil},
		{"email pending", kyc.ContactVerification{Email: "PENDING"}, []string{"email"}},
		{"email verified, phone pending", kyc.ContactVerification{Email: "VERIFIED", Phone: "PENDING"}, []string{"phone"}},
		{"both pending", kyc.ContactVerification{Email: "PENDING", Phone: "PENDING"}, []string{"email", "phone"}},
		{"unknown state counts as unverified", kyc.ContactVerification{Phone: "SOMETHING"}, []string{"phone"}},
		{"both verified", kyc.ContactVerification{Email: "VERIFIED", Phone: "VERIFIED"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &recorder{}
			s := &kyc.Service{Customers: customers.NewMemory(kyc.Customer{ID: "c", PlatformID: "p", ContactVerification: tc.cv}),
				Provider: p, TTL: time.Minute, Now: time.Now}
			_, err := s.CreateLink(context.Background(), "p", "c", "")
			if tc.channels == nil {
				if err != nil || len(p.got) != 1 {
					t.Fatalf("err %v, %d provider calls; want a link", err, len(p.got))
				}
				return
			}
			e := kyc.AsError(err)
			if e.Code != kyc.CodeConflict || e.Details["reason"] != kyc.ReasonContactVerificationRequired {
				t.Fatalf("err = %v; want CONFLICT %s", err, kyc.ReasonContactVerificationRequired)
			}
			if diff := cmp.Diff(tc.channels, e.Details["channels"]); diff != "" {
				t.Errorf("channels (-want +got):\n%s", diff)
			}
			if len(p.got) != 0 {
				t.Errorf("the provider was asked %d times; want never", len(p.got))
			}
		})
	}
}

package kyc_test

import (
	"context"
	"testing"
	"time"

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
	if want := time.Date(2026, 1, 2, 2, 34, 5, 0, time.UTC); !l.ExpiresAt.Equal(want) || l.ExpiresAt.Location() != time.UTC {
		t.Fatalf("ExpiresAt = %v; want %v in UTC, whole seconds", l.ExpiresAt, want)
	}
	if l.URL != "https://link" || l.Token != "tok" || l.Provider != "SUMSUB" {
		t.Fatalf("link = %+v", l)
	}
	if r := p.got[0]; r.Type != kyc.Individual || r.Email != "e@example.com" || r.PhoneNumber != "+1" || r.RedirectURI != "https://r" || r.TTL != 30*time.Minute {
		t.Fatalf("provider request = %+v", r)
	}
	s.CreateLink(context.Background(), "p1", "c2", "")
	if p.got[1].Type != kyc.Business {
		t.Fatalf("business customer sent as %s", p.got[1].Type)
	}
	for _, tc := range []struct{ platform, id string }{{"p2", "c1"}, {"p1", "c3"}, {"p1", "nope"}} {
		_, err := s.CreateLink(context.Background(), tc.platform, tc.id, "")
		if e := kyc.AsError(err); e.Code != kyc.CodeNotFound || e.Message != "Customer not found." {
			t.Errorf("%v = %v; want the one not-found answer", tc, err)
		}
	}
	if len(p.got) != 2 {
		t.Fatalf("provider called %d times; want 2", len(p.got))
	}
}

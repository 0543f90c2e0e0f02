package kyc_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

type recorder struct{ got []kyc.LinkRequest }

func (r *recorder) Name() string { return "SUMSUB" }
func (r *recorder) CreateLink(_ context.Context, req kyc.LinkRequest) (string, string, error) {
	r.got = append(r.got, req)
	return "https://link", "tok", nil
}

func TestLinks(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	p := &recorder{}
	s := &kyc.Links{
		Customers: memstore.NewCustomers(
			kyc.Customer{ID: "c1", PlatformID: "p1", Email: "e@example.com", PhoneNumber: "+1"},
			kyc.Customer{ID: "c2", PlatformID: "p1", Type: kyc.Business},
			kyc.Customer{ID: "c3", PlatformID: "p1", IsDeleted: true},
		),
		Provider: p, TTL: 30 * time.Minute, Now: func() time.Time { return now },
	}
	l, err := s.Create(context.Background(), "p1", "c1", "https://r")
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
	s.Create(context.Background(), "p1", "c2", "")
	if got := p.got[1].Type; got != kyc.Business {
		t.Fatalf("business customer sent as %s; want %s", got, kyc.Business)
	}
	for _, tc := range []struct{ name, platform, id string }{
		{"other platform's customer", "p2", "c1"}, {"deleted customer", "p1", "c3"}, {"missing customer", "p1", "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Create(context.Background(), tc.platform, tc.id, "")
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
			s := &kyc.Links{
				Customers: memstore.NewCustomers(kyc.Customer{ID: "c", PlatformID: "p", KYCStatus: st},
					kyc.Customer{ID: "b", PlatformID: "p", Type: kyc.Business, KYBStatus: st}),
				Provider: &recorder{}, TTL: time.Minute, Now: time.Now,
			}
			for _, id := range []string{"c", "b"} {
				if _, err := s.Create(context.Background(), "p", id, ""); err != nil {
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
			s := &kyc.Links{Customers: memstore.NewCustomers(kyc.Customer{ID: "c", PlatformID: "p", ContactVerification: tc.cv}),
				Provider: p, TTL: time.Minute, Now: time.Now}
			_, err := s.Create(context.Background(), "p", "c", "")
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

type fakeLimits struct {
	retryAfter time.Duration
	err        error
	hang       bool
}

func (f fakeLimits) Allow(ctx context.Context, _ string) (time.Duration, error) {
	if f.hang {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return f.retryAfter, f.err
}

// TestLinkLimits: a refusal is RATE_LIMITED with its retry hint and the
// provider is not asked; a limit store that fails or hangs allows the link
// (the limits protect the provider's quota, their outage must not take
// links down), and says so at WARN.
func TestLinkLimits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limits  fakeLimits
		refused bool
	}{
		{"allowed", fakeLimits{}, false},
		{"refused", fakeLimits{retryAfter: 1500 * time.Millisecond}, true},
		{"store down", fakeLimits{err: errors.New("throttled")}, false},
		{"store hangs", fakeLimits{hang: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			p := &recorder{}
			s := &kyc.Links{Customers: memstore.NewCustomers(kyc.Customer{ID: "c", PlatformID: "p"}),
				Provider: p, Limits: tc.limits, TTL: time.Minute, Now: time.Now,
				Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
			_, err := s.Create(context.Background(), "p", "c", "")
			if tc.refused {
				e := kyc.AsError(err)
				if e.Code != kyc.CodeRateLimited || e.RetryAfter != 1500*time.Millisecond || len(p.got) != 0 {
					t.Fatalf("err %v (retry %v), %d provider calls; want RATE_LIMITED after 1.5s and no call", err, e.RetryAfter, len(p.got))
				}
				return
			}
			if err != nil || len(p.got) != 1 {
				t.Fatalf("err %v, %d provider calls; want a link", err, len(p.got))
			}
			warned := strings.Contains(logs.String(), "rate limit store unavailable")
			if want := tc.limits.err != nil || tc.limits.hang; warned != want {
				t.Errorf("WARN logged %v; want %v (logs %s)", warned, want, logs.String())
			}
		})
	}
}

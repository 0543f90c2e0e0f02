package kyc_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// storeNotCalled is a review store for reviews that must not touch the
// store: any call fails the test.
type storeNotCalled struct{ t *testing.T }

func (s storeNotCalled) FindCustomer(_ context.Context, id string) (kyc.Customer, error) {
	s.t.Errorf("FindCustomer(%.40q) called", id)
	return kyc.Customer{}, kyc.Errorf(kyc.CodeNotFound, "not found")
}

func (s storeNotCalled) ApplyChange(_ context.Context, ch kyc.Change, _ *kyc.Notice) error {
	s.t.Errorf("ApplyChange(%.40q) called", ch.CustomerID)
	return nil
}

func noNotice(kyc.Customer, kyc.Status, time.Time) (*kyc.Notice, error) { return nil, nil }

const reviewed = "Customer:019542f5-b3e7-1d02-0000-000000000001"

// TestApplyIDsThatAreNoCustomers: a review of an id that cannot be a
// customer's is acknowledged as an unknown customer without a store call
// (DynamoDB would refuse a key over 2048 bytes), even when it is dated
// far ahead; the longest valid id is looked up as usual.
func TestApplyIDsThatAreNoCustomers(t *testing.T) {
	far := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, id string
		at       time.Time
	}{
		{"empty", "", time.Time{}},
		{"2 KiB", "Customer:" + strings.Repeat("q", 2048), time.Time{}},
		{"129 characters", "Customer:" + strings.Repeat("q", 120), time.Time{}},
		{"an email", "someone@example.com", time.Time{}},
		{"a space", "Customer q", time.Time{}},
		{"an email dated far ahead", "someone@example.com", far},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &kyc.Reviews{Store: storeNotCalled{t}, Notices: noNotice, Now: time.Now}
			got, err := r.Apply(context.Background(), kyc.Review{CustomerID: tc.id, Status: kyc.StatusApproved, At: tc.at})
			if got != kyc.UnknownCustomer || err != nil {
				t.Fatalf("Apply(%.40q) = %s, %v; want %s", tc.id, got, err, kyc.UnknownCustomer)
			}
		})
	}
	id := "Customer:" + strings.Repeat("q", kyc.MaxCustomerID-len("Customer:"))
	r := &kyc.Reviews{Store: memstore.NewCustomers(kyc.Customer{ID: id, PlatformID: "p1", Type: kyc.Individual}), Notices: noNotice, Now: time.Now}
	if got, err := r.Apply(context.Background(), kyc.Review{CustomerID: id, Status: kyc.StatusApproved, At: time.Now()}); got != kyc.Applied || err != nil {
		t.Fatalf("Apply of a %d-character id = %s, %v; want %s", len(id), got, err, kyc.Applied)
	}
}

// refusal is what a caller and the log learn of a *kyc.Error.
type refusal struct {
	Code    kyc.Code
	Message string
	Details map[string]any
	Cause   string
}

// TestApplyReviewsFromTheFuture: a review dated more than MaxEventSkew
// after the clock is refused (field and times in the provider's terms, the
// reason in the Cause, an ErrReviewFromTheFuture) without touching the
// store; at the bound it is applied.
func TestApplyReviewsFromTheFuture(t *testing.T) {
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	// A provider that writes times as Unix milliseconds.
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	refused := func(field, at, minutes, skew, now string) *refusal {
		return &refusal{Code: kyc.CodeInvalid, Details: map[string]any{"field": field},
			Message: "The event's " + field + " (" + at + " UTC) is more than " + minutes + " minutes after this receiver's clock (" + now + " UTC); it is not applied. A retry is applied once that time has passed.",
			Cause:   field + " " + at + " is more than " + skew + " after the receiver's clock (" + now + ")"}
	}
	for _, tc := range []struct {
		name   string
		skew   time.Duration
		review kyc.Review
		want   *refusal // nil: applied
	}{
		{"at the default bound", 0, kyc.Review{At: clock.Add(5 * time.Minute), AtField: "decidedAt", FormatAt: ms}, nil},
		{"past the default bound", 0, kyc.Review{At: clock.Add(5*time.Minute + time.Millisecond), AtField: "decidedAt", FormatAt: ms},
			refused("decidedAt", "1795683900001", "5", "5m0s", "1795683600000")},
		{"far ahead", 0, kyc.Review{At: time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), AtField: "decidedAt", FormatAt: ms},
			refused("decidedAt", "253402300799999", "5", "5m0s", "1795683600000")},
		{"at a bound of its own", 10 * time.Minute, kyc.Review{At: clock.Add(10 * time.Minute)}, nil},
		{"past a bound of its own", 10 * time.Minute, kyc.Review{At: clock.Add(10*time.Minute + time.Millisecond)},
			refused("at", "2026-11-26T09:10:00.001Z", "10", "10m0s", "2026-11-26T09:00:00Z")},
		{"behind the clock", 0, kyc.Review{At: clock.Add(-time.Hour)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var store kyc.ReviewStore = storeNotCalled{t}
			if tc.want == nil {
				store = memstore.NewCustomers(kyc.Customer{ID: reviewed, PlatformID: "p1", Type: kyc.Individual})
			}
			r := &kyc.Reviews{Store: store, Notices: noNotice, Now: func() time.Time { return clock }, MaxEventSkew: tc.skew}
			tc.review.CustomerID, tc.review.Status = reviewed, kyc.StatusApproved
			got, err := r.Apply(context.Background(), tc.review)
			if tc.want == nil {
				if got != kyc.Applied || err != nil {
					t.Fatalf("Apply = %s, %v; want %s", got, err, kyc.Applied)
				}
				return
			}
			var e *kyc.Error
			if !errors.As(err, &e) || !errors.Is(err, kyc.ErrReviewFromTheFuture) || got != "" {
				t.Fatalf("Apply = %q, %v; want a *kyc.Error that is an ErrReviewFromTheFuture", got, err)
			}
			if diff := cmp.Diff(*tc.want, refusal{Code: e.Code, Message: e.Message, Details: e.Details, Cause: e.Cause.Error()}); diff != "" {
				t.Fatalf("refusal (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyAfterAReviewFromTheFuture: a refused review changes nothing,
// so the real decision after it is applied, not stale, and the provider's
// retry is applied once the clock has caught up.
func TestApplyAfterAReviewFromTheFuture(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	store := memstore.NewCustomers(kyc.Customer{ID: reviewed, PlatformID: "p1", Type: kyc.Individual})
	r := &kyc.Reviews{Store: store, Notices: noNotice, Now: func() time.Time { return clock }}
	apply := func(s kyc.Status, at time.Time) (kyc.Outcome, error) {
		return r.Apply(ctx, kyc.Review{CustomerID: reviewed, Status: s, At: at})
	}
	if _, err := apply(kyc.StatusRejected, time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)); !errors.Is(err, kyc.ErrReviewFromTheFuture) {
		t.Fatalf("far-future RED = %v; want refused", err)
	}
	if c, _ := store.FindCustomer(ctx, reviewed); c.StatusOf() != kyc.StatusUnverified || !c.LastReviewAt.IsZero() {
		t.Fatalf("the refused RED changed the customer: %s, last review %v", c.StatusOf(), c.LastReviewAt)
	}
	if got, err := apply(kyc.StatusRejected, clock.Add(-time.Minute)); got != kyc.Applied || err != nil {
		t.Fatalf("RED after the refused one = %s, %v; want %s", got, err, kyc.Applied)
	}
	ahead := clock.Add(kyc.DefaultMaxEventSkew + time.Millisecond)
	if _, err := apply(kyc.StatusApproved, ahead); !errors.Is(err, kyc.ErrReviewFromTheFuture) {
		t.Fatalf("GREEN %v ahead = %v; want refused", kyc.DefaultMaxEventSkew+time.Millisecond, err)
	}
	clock = clock.Add(5 * time.Minute) // Sumsub's first retry
	if got, err := apply(kyc.StatusApproved, ahead); got != kyc.Applied || err != nil {
		t.Fatalf("the retry 5 min later = %s, %v; want %s", got, err, kyc.Applied)
	}
	if c, _ := store.FindCustomer(ctx, reviewed); c.StatusOf() != kyc.StatusApproved {
		t.Fatalf("status %s after the retry; want APPROVED", c.StatusOf())
	}
}

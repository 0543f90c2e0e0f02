package customers_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/customers"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// reviewBackend is a review store plus a way to read what it recorded.
type reviewBackend struct {
	store   kyc.ReviewStore
	notices func(t *testing.T) []kyc.Notice
	// rejection reads the reject type and labels kept for a customer.
	rejection func(t *testing.T, id string) customers.Rejection
}

var (
	ind = kyc.Customer{ID: "Customer:ind", PlatformID: "p1", Type: kyc.Individual, KYCStatus: "UNVERIFIED", CreatedAt: "2025-10-13T12:00:00Z"}
	biz = kyc.Customer{ID: "Customer:biz", PlatformID: "p1", Type: kyc.Business, CreatedAt: "2025-10-13T12:00:00Z"}
	del = kyc.Customer{ID: "Customer:del", PlatformID: "p1", IsDeleted: true}
)

// testReviews is the conformance suite of review stores, through the
// domain's Reviews (which is what the webhook receiver runs).
func testReviews(t *testing.T, newBackend func(t *testing.T) reviewBackend) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	// The clock ticks a second per reading, so notices have distinct times.
	var clockMu sync.Mutex
	now := t0.Add(time.Hour)
	tick := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); now = now.Add(time.Second); return now }
	last := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	reviews := func(b reviewBackend) *kyc.Reviews {
		return &kyc.Reviews{Store: b.store, Notices: gridhook.Notices, Now: tick}
	}
	apply := func(t *testing.T, r *kyc.Reviews, rev kyc.Review, want kyc.Outcome) {
		t.Helper()
		got, err := r.Apply(ctx, rev)
		if err != nil || got != want {
			t.Fatalf("Apply(%s %s at %s) = %s, %v; want %s", rev.CustomerID, rev.Status, rev.At.Format(time.StampMilli), got, err, want)
		}
	}
	types := func(ns []kyc.Notice) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Type)
		}
		return out
	}

	t.Run("journey, duplicates and stale events", func(t *testing.T) {
		b := newBackend(t)
		r := reviews(b)
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusPending, At: t0}, kyc.Applied)
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusPending, At: t0}, kyc.Stale) // duplicate
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusHold, At: t0.Add(time.Second)}, kyc.Applied)
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusRejected, At: t0.Add(3 * time.Second),
			RejectType: "RETRY", RejectLabels: []string{"BAD_SELFIE"}}, kyc.Applied)
		// An older event arriving late changes nothing.
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusApproved, At: t0.Add(2 * time.Second)}, kyc.Stale)
		if got := b.rejection(t, ind.ID); got.Type != "RETRY" || len(got.Labels) != 1 || got.Labels[0] != "BAD_SELFIE" {
			t.Fatalf("rejection kept = %+v; want RETRY [BAD_SELFIE]", got)
		}
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusApproved, At: t0.Add(4 * time.Second)}, kyc.Applied)
		c, _ := b.store.ReviewState(ctx, ind.ID)
		if c.KYCStatus != "APPROVED" || !c.LastReviewAt.Equal(t0.Add(4*time.Second)) || !c.UpdatedAt.Equal(last()) {
			t.Fatalf("customer = %+v; want APPROVED, last review t0+4s, updated now", c)
		}
		if got := b.rejection(t, ind.ID); got.Type != "" {
			t.Fatalf("rejection kept after approval = %+v; want none", got)
		}
		// PENDING, REJECTED, APPROVED have webhooks; HOLD has none.
		if diff := cmp.Diff([]string{"CUSTOMER.KYC_PENDING", "CUSTOMER.KYC_REJECTED", "CUSTOMER.KYC_APPROVED"}, types(b.notices(t))); diff != "" {
			t.Fatalf("notices (-want +got):\n%s", diff)
		}
	})
	t.Run("business customers move kybStatus", func(t *testing.T) {
		b := newBackend(t)
		apply(t, reviews(b), kyc.Review{CustomerID: biz.ID, Status: kyc.StatusApproved, At: t0}, kyc.Applied)
		c, _ := b.store.ReviewState(ctx, biz.ID)
		if c.KYBStatus != "APPROVED" || c.KYCStatus != "" {
			t.Fatalf("business = kyb %q kyc %q; want kybStatus APPROVED, kycStatus untouched", c.KYBStatus, c.KYCStatus)
		}
		ns := b.notices(t)
		if len(ns) != 1 || ns[0].Type != "CUSTOMER.KYB_APPROVED" || ns[0].PlatformID != "p1" {
			t.Fatalf("notices = %+v; want one CUSTOMER.KYB_APPROVED for p1", ns)
		}
	})
	t.Run("same status again sends nothing", func(t *testing.T) {
		b := newBackend(t)
		r := reviews(b)
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusPending, At: t0}, kyc.Applied)
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusPending, At: t0.Add(time.Minute)}, kyc.Applied)
		if n := len(b.notices(t)); n != 1 {
			t.Fatalf("%d notices; want 1 (the status changed once)", n)
		}
	})
	t.Run("unknown and deleted customers", func(t *testing.T) {
		b := newBackend(t)
		apply(t, reviews(b), kyc.Review{CustomerID: "Customer:nobody", Status: kyc.StatusApproved, At: t0}, kyc.UnknownCustomer)
		apply(t, reviews(b), kyc.Review{CustomerID: del.ID, Status: kyc.StatusApproved, At: t0}, kyc.UnknownCustomer)
		if n := len(b.notices(t)); n != 0 {
			t.Fatalf("%d notices; want none", n)
		}
	})
	t.Run("a write against a moved customer is refused", func(t *testing.T) {
		b := newBackend(t)
		apply(t, reviews(b), kyc.Review{CustomerID: ind.ID, Status: kyc.StatusPending, At: t0}, kyc.Applied)
		err := b.store.ApplyChange(ctx, kyc.Change{CustomerID: ind.ID, Type: kyc.Individual, Status: kyc.StatusApproved,
			ReviewAt: t0.Add(time.Second), UpdatedAt: tick(), WasStatus: kyc.StatusUnverified}, &kyc.Notice{ID: "Webhook:x", PlatformID: "p1", Type: "t", CreatedAt: tick(), Body: []byte("{}")})
		if err == nil {
			t.Fatal("ApplyChange with a stale view succeeded")
		}
		if n := len(b.notices(t)); n != 1 {
			t.Fatalf("%d notices; want 1: a refused change records no notice", n)
		}
	})
	// On moto too: the harness runs one DynamoDB call at a time, so a
	// cancelled transaction's rollback (moto puts back copies of whole
	// tables) cannot undo another's commit.
	t.Run("concurrent reviews of one customer end at the newest", func(t *testing.T) {
		b := newBackend(t)
		r := reviews(b)
		var wg sync.WaitGroup
		statuses := []kyc.Status{kyc.StatusPending, kyc.StatusHold, kyc.StatusRejected, kyc.StatusApproved}
		for i, s := range statuses {
			wg.Go(func() {
				if _, err := r.Apply(ctx, kyc.Review{CustomerID: ind.ID, Status: s, At: t0.Add(time.Duration(i) * time.Second)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		c, _ := b.store.ReviewState(ctx, ind.ID)
		if c.KYCStatus != "APPROVED" {
			t.Fatalf("after concurrent reviews kycStatus = %s; want APPROVED (the newest)", c.KYCStatus)
		}
		// One notice per change that landed, in the order they landed: each
		// newer than the one before, the last the approval. A notice of a
		// write that lost its race (a cancelled transaction) would break it.
		rank := map[string]int{"CUSTOMER.KYC_PENDING": 0, "CUSTOMER.KYC_REJECTED": 2, "CUSTOMER.KYC_APPROVED": 3}
		got := types(b.notices(t))
		for i, typ := range got {
			r, ok := rank[typ]
			if !ok || i > 0 && r <= rank[got[i-1]] {
				t.Fatalf("notices %v; want each newer than the one before", got)
			}
		}
		if len(got) == 0 || got[len(got)-1] != "CUSTOMER.KYC_APPROVED" {
			t.Fatalf("notices %v; want the approval last", got)
		}
	})
}

// The memory store is memstore.Customers, which make run shares with the
// platform API.
func TestMemoryReviews(t *testing.T) {
	testReviews(t, func(t *testing.T) reviewBackend {
		var mu sync.Mutex
		var got []kyc.Notice
		m := memstore.NewCustomers(ind, biz, del)
		m.Outbox = func(n kyc.Notice) { mu.Lock(); got = append(got, n); mu.Unlock() }
		return reviewBackend{store: m,
			notices: func(*testing.T) []kyc.Notice { mu.Lock(); defer mu.Unlock(); return append([]kyc.Notice(nil), got...) },
			rejection: func(_ *testing.T, id string) customers.Rejection {
				r, _ := m.RejectionOf(id)
				return customers.Rejection{Type: r.Type, Labels: r.Labels}
			}}
	})
}

func S(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

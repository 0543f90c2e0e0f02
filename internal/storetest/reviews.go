package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// ReviewEnv is one review store under test and a way to read the notices
// it recorded (oldest first).
type ReviewEnv struct {
	Store   kyc.ReviewStore
	Notices func(t *testing.T) []kyc.Notice
}

// The customers the review suite starts with (written before the platform
// API: no version).
var (
	reviewedAt = time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC)
	ind        = kyc.Customer{ID: "Customer:ind", PlatformID: "p1", Type: kyc.Individual, KYCStatus: kyc.StatusUnverified, CreatedAt: reviewedAt}
	biz        = kyc.Customer{ID: "Customer:biz", PlatformID: "p1", Type: kyc.Business, CreatedAt: reviewedAt}
	del        = kyc.Customer{ID: "Customer:del", PlatformID: "p1", IsDeleted: true}
)

// Reviews is the conformance suite of review stores, through the domain's
// Reviews (which is what the webhook receiver runs). newEnv makes a fresh
// store holding the customers given.
func Reviews(t *testing.T, newEnv func(t *testing.T, customers ...kyc.Customer) ReviewEnv) {
	newBackend := func(t *testing.T) ReviewEnv { return newEnv(t, ind, biz, del) }
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	// The clock ticks a second per reading, so notices have distinct times.
	var clockMu sync.Mutex
	now := t0.Add(time.Hour)
	tick := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); now = now.Add(time.Second); return now }
	last := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	reviews := func(b ReviewEnv) *kyc.Reviews {
		return &kyc.Reviews{Store: b.Store, Notices: gridhook.Notices, Now: tick}
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
		if got, _ := b.Store.FindCustomer(ctx, ind.ID); got.RejectType != "RETRY" || len(got.RejectLabels) != 1 || got.RejectLabels[0] != "BAD_SELFIE" {
			t.Fatalf("rejection kept = %q %q; want RETRY [BAD_SELFIE]", got.RejectType, got.RejectLabels)
		}
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusApproved, At: t0.Add(4 * time.Second)}, kyc.Applied)
		c, _ := b.Store.FindCustomer(ctx, ind.ID)
		if c.KYCStatus != "APPROVED" || !c.LastReviewAt.Equal(t0.Add(4*time.Second)) || !c.UpdatedAt.Equal(last()) {
			t.Fatalf("customer = %+v; want APPROVED, last review t0+4s, updated now", c)
		}
		if got, _ := b.Store.FindCustomer(ctx, ind.ID); got.RejectType != "" || len(got.RejectLabels) != 0 {
			t.Fatalf("rejection kept after approval = %q %q; want none", got.RejectType, got.RejectLabels)
		}
		// PENDING, REJECTED, APPROVED have webhooks; HOLD has none.
		if diff := cmp.Diff([]string{"CUSTOMER.KYC_PENDING", "CUSTOMER.KYC_REJECTED", "CUSTOMER.KYC_APPROVED"}, types(b.Notices(t))); diff != "" {
			t.Fatalf("notices (-want +got):\n%s", diff)
		}
	})
	t.Run("business customers move kybStatus", func(t *testing.T) {
		b := newBackend(t)
		apply(t, reviews(b), kyc.Review{CustomerID: biz.ID, Status: kyc.StatusApproved, At: t0}, kyc.Applied)
		c, _ := b.Store.FindCustomer(ctx, biz.ID)
		if c.KYBStatus != "APPROVED" || c.KYCStatus != "" {
			t.Fatalf("business = kyb %q kyc %q; want kybStatus APPROVED, kycStatus untouched", c.KYBStatus, c.KYCStatus)
		}
		ns := b.Notices(t)
		if len(ns) != 1 || ns[0].Type != "CUSTOMER.KYB_APPROVED" || ns[0].PlatformID != "p1" {
			t.Fatalf("notices = %+v; want one CUSTOMER.KYB_APPROVED for p1", ns)
		}
	})
	t.Run("same status again sends nothing", func(t *testing.T) {
		b := newBackend(t)
		r := reviews(b)
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusPending, At: t0}, kyc.Applied)
		apply(t, r, kyc.Review{CustomerID: ind.ID, Status: kyc.StatusPending, At: t0.Add(time.Minute)}, kyc.Applied)
		if n := len(b.Notices(t)); n != 1 {
			t.Fatalf("%d notices; want 1 (the status changed once)", n)
		}
	})
	t.Run("unknown and deleted customers", func(t *testing.T) {
		b := newBackend(t)
		apply(t, reviews(b), kyc.Review{CustomerID: "Customer:nobody", Status: kyc.StatusApproved, At: t0}, kyc.UnknownCustomer)
		apply(t, reviews(b), kyc.Review{CustomerID: del.ID, Status: kyc.StatusApproved, At: t0}, kyc.UnknownCustomer)
		if n := len(b.Notices(t)); n != 0 {
			t.Fatalf("%d notices; want none", n)
		}
	})
	t.Run("a write against a moved customer is refused", func(t *testing.T) {
		b := newBackend(t)
		apply(t, reviews(b), kyc.Review{CustomerID: ind.ID, Status: kyc.StatusPending, At: t0}, kyc.Applied)
		err := b.Store.ApplyChange(ctx, kyc.Change{CustomerID: ind.ID, Type: kyc.Individual, Status: kyc.StatusApproved,
			ReviewAt: t0.Add(time.Second), UpdatedAt: tick(), WasStatus: kyc.StatusUnverified}, &kyc.Notice{ID: "Webhook:x", PlatformID: "p1", Type: "t", CreatedAt: tick(), Body: []byte("{}")})
		if err == nil {
			t.Fatal("ApplyChange with a stale view succeeded")
		}
		if n := len(b.Notices(t)); n != 1 {
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
		c, _ := b.Store.FindCustomer(ctx, ind.ID)
		if c.KYCStatus != "APPROVED" {
			t.Fatalf("after concurrent reviews kycStatus = %s; want APPROVED (the newest)", c.KYCStatus)
		}
		// One notice per change that landed, in the order they landed: each
		// newer than the one before, the last the approval. A notice of a
		// write that lost its race (a cancelled transaction) would break it.
		rank := map[string]int{"CUSTOMER.KYC_PENDING": 0, "CUSTOMER.KYC_REJECTED": 2, "CUSTOMER.KYC_APPROVED": 3}
		got := types(b.Notices(t))
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

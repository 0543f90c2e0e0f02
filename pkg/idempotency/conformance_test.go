package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// store is a Store that tests can also put records into directly.
type store interface {
	idempotency.Store
	Put(ctx context.Context, rec idempotency.Record) error
}

// testStore runs the conformance suite against one implementation.
func testStore(t *testing.T, newStore func(t *testing.T) store) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	rec := func(key, token string) idempotency.Record {
		return idempotency.Record{Key: key, Fingerprint: "fp", Status: idempotency.InProgress, LockToken: token,
			LockExpiresAt: now.Add(10 * time.Second), ExpiresAt: now.Add(24 * time.Hour)}
	}
	resp := idempotency.Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"a":1}`)}

	t.Run("acquire, then duplicate sees the holder", func(t *testing.T) {
		s := newStore(t)
		if got, err := s.Acquire(ctx, rec("k", "t1"), now); err != nil || got != nil {
			t.Fatalf("first Acquire = %v, %v; want acquired", got, err)
		}
		got, err := s.Acquire(ctx, rec("k", "t2"), now)
		if err != nil || got == nil || got.LockToken != "t1" || got.Status != idempotency.InProgress {
			t.Fatalf("second Acquire = %+v, %v; want the t1 record", got, err)
		}
	})
	t.Run("complete stores the response for replay", func(t *testing.T) {
		s := newStore(t)
		s.Acquire(ctx, rec("k", "t1"), now)
		if err := s.Complete(ctx, "k", "t1", resp); err != nil {
			t.Fatal(err)
		}
		got, err := s.Acquire(ctx, rec("k", "t2"), now.Add(time.Hour))
		if err != nil || got == nil || got.Status != idempotency.Completed || got.Response == nil {
			t.Fatalf("Acquire after complete = %+v, %v", got, err)
		}
		if diff := cmp.Diff(resp, *got.Response); diff != "" {
			t.Fatalf("stored response (-want +got):\n%s", diff)
		}
		if g, _ := s.Get(ctx, "k"); g == nil || g.Status != idempotency.Completed {
			t.Fatalf("Get = %+v", g)
		}
	})
	t.Run("expired completed record is absent", func(t *testing.T) {
		s := newStore(t)
		old := rec("k", "old")
		old.Status, old.Response, old.ExpiresAt = idempotency.Completed, &resp, now.Add(-time.Second)
		if err := s.Put(ctx, old); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Acquire(ctx, rec("k", "new"), now); err != nil || got != nil {
			t.Fatalf("Acquire over expired record = %+v, %v; want acquired", got, err)
		}
	})
	t.Run("an expired lock is taken over with the intent, and the old owner is refused", func(t *testing.T) {
		s := newStore(t)
		old := rec("k", "old")
		old.Intent = "intent-1"
		s.Acquire(ctx, old, now)
		later := now.Add(11 * time.Second)
		got, err := s.Acquire(ctx, rec("k", "new"), later)
		if err != nil || got == nil || got.LockToken != "old" || got.Intent != "intent-1" {
			t.Fatalf("Acquire after lock expiry = %+v, %v; want the old record (Acquire never overwrites a live one)", got, err)
		}
		next := rec("k", "new")
		next.Intent, next.LockExpiresAt = "ignored", later.Add(10*time.Second)
		if ok, err := s.TakeOver(ctx, next, "old", later); err != nil || !ok {
			t.Fatalf("TakeOver after lock expiry = %v, %v; want taken", ok, err)
		}
		if ok, err := s.TakeOver(ctx, next, "old", later); err != nil || !ok {
			t.Fatalf("repeated TakeOver by the new holder = %v, %v; want taken (its own re-sent write)", ok, err)
		}
		if ok, _ := s.TakeOver(ctx, rec("k", "third"), "old", later); ok {
			t.Fatal("a second taker took the record from a token that no longer holds it")
		}
		if err := s.Complete(ctx, "k", "old", resp); !errors.Is(err, idempotency.ErrNotOwner) {
			t.Fatalf("late Complete by old owner = %v; want ErrNotOwner", err)
		}
		if err := s.Release(ctx, "k", "old"); !errors.Is(err, idempotency.ErrNotOwner) {
			t.Fatalf("late Release by old owner = %v; want ErrNotOwner", err)
		}
		if err := s.Abandon(ctx, "k", "old"); !errors.Is(err, idempotency.ErrNotOwner) {
			t.Fatalf("late Abandon by old owner = %v; want ErrNotOwner", err)
		}
		g, _ := s.Get(ctx, "k")
		if g == nil || g.LockToken != "new" || g.Status != idempotency.InProgress || g.Intent != "intent-1" ||
			g.LockExpiresAt.UnixMilli() != later.Add(10*time.Second).UnixMilli() {
			t.Fatalf("record after the takeover = %+v; want new owner's, in progress, intent-1, its lock", g)
		}
	})
	t.Run("unexpired lock is not taken over", func(t *testing.T) {
		s := newStore(t)
		s.Acquire(ctx, rec("k", "old"), now)
		at := now.Add(9 * time.Second)
		if got, _ := s.Acquire(ctx, rec("k", "new"), at); got == nil || got.LockToken != "old" {
			t.Fatalf("Acquire before lock expiry = %+v; want old holder", got)
		}
		if ok, err := s.TakeOver(ctx, rec("k", "new"), "old", at); err != nil || ok {
			t.Fatalf("TakeOver before lock expiry = %v, %v; want refused", ok, err)
		}
	})
	t.Run("abandon unlocks and keeps the record for a takeover", func(t *testing.T) {
		s := newStore(t)
		r := rec("k", "t1")
		r.Intent = "intent-1"
		s.Acquire(ctx, r, now)
		if err := s.Abandon(ctx, "k", "t1"); err != nil {
			t.Fatal(err)
		}
		g, _ := s.Get(ctx, "k")
		if g == nil || g.Live(now) || g.Intent != "intent-1" || g.Fingerprint != "fp" {
			t.Fatalf("record after Abandon = %+v; want kept, unlocked, with its intent and fingerprint", g)
		}
		if got, _ := s.Acquire(ctx, rec("k", "t2"), now); got == nil || got.Intent != "intent-1" {
			t.Fatalf("Acquire after Abandon = %+v; want the abandoned record back", got)
		}
		if ok, err := s.TakeOver(ctx, rec("k", "t2"), "t1", now); err != nil || !ok {
			t.Fatalf("TakeOver of an abandoned record = %v, %v", ok, err)
		}
		if err := s.Complete(ctx, "k", "t2", resp); err != nil {
			t.Fatal(err)
		}
		if err := s.Abandon(ctx, "k", "t2"); !errors.Is(err, idempotency.ErrNotOwner) {
			t.Fatalf("Abandon of a completed record = %v; want ErrNotOwner", err)
		}
		if err := s.Abandon(ctx, "nope", "t"); !errors.Is(err, idempotency.ErrNotOwner) {
			t.Fatalf("Abandon of a missing record = %v; want ErrNotOwner", err)
		}
	})
	t.Run("an expired record is not taken over", func(t *testing.T) {
		s := newStore(t)
		old := rec("k", "old")
		old.ExpiresAt = now.Add(-time.Second)
		s.Put(ctx, old)
		if ok, _ := s.TakeOver(ctx, rec("k", "new"), "old", now); ok {
			t.Fatal("an expired record was taken over; its key is free for a fresh Acquire")
		}
	})
	t.Run("release frees the key", func(t *testing.T) {
		s := newStore(t)
		s.Acquire(ctx, rec("k", "t1"), now)
		if err := s.Release(ctx, "k", "t1"); err != nil {
			t.Fatal(err)
		}
		if g, _ := s.Get(ctx, "k"); g != nil {
			t.Fatalf("Get after release = %+v; want none", g)
		}
		if got, err := s.Acquire(ctx, rec("k", "t2"), now); err != nil || got != nil {
			t.Fatalf("Acquire after release = %+v, %v", got, err)
		}
	})
	t.Run("completed record cannot be released, nor completed by another token", func(t *testing.T) {
		s := newStore(t)
		s.Acquire(ctx, rec("k", "t1"), now)
		s.Complete(ctx, "k", "t1", resp)
		if err := s.Release(ctx, "k", "t1"); !errors.Is(err, idempotency.ErrNotOwner) {
			t.Fatalf("Release of completed = %v; want ErrNotOwner", err)
		}
		if err := s.Complete(ctx, "k", "t2", resp); !errors.Is(err, idempotency.ErrNotOwner) {
			t.Fatalf("Complete by another token = %v; want ErrNotOwner", err)
		}
	})
	// A client that lost the answer to a write re-sends it; finding the
	// record as that write left it is success, not a conflict.
	t.Run("repeated writes of the same owner succeed", func(t *testing.T) {
		s := newStore(t)
		if got, err := s.Acquire(ctx, rec("k", "t1"), now); err != nil || got != nil {
			t.Fatalf("Acquire = %+v, %v", got, err)
		}
		if got, err := s.Acquire(ctx, rec("k", "t1"), now); err != nil || got != nil {
			t.Fatalf("repeated Acquire by the holder = %+v, %v; want acquired (nil, nil)", got, err)
		}
		if err := s.Complete(ctx, "k", "t1", resp); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, "k", "t1", resp); err != nil {
			t.Fatalf("repeated Complete by the holder = %v; want nil", err)
		}
		s.Acquire(ctx, rec("k2", "t2"), now)
		s.Release(ctx, "k2", "t2")
		if err := s.Release(ctx, "k2", "t2"); err != nil {
			t.Fatalf("repeated Release = %v; want nil (the key is free)", err)
		}
	})
	t.Run("concurrent acquires have one holder", func(t *testing.T) {
		s := newStore(t)
		const callers, rounds = 20, 10
		for round := range rounds {
			key := fmt.Sprintf("k%d", round)
			got, errs := make([]*idempotency.Record, callers), make([]error, callers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					<-start
					got[i], errs[i] = s.Acquire(ctx, rec(key, fmt.Sprint("t", i)), now)
				})
			}
			close(start)
			wg.Wait()
			holder := ""
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: Acquire %d = %v", round, i, err)
				}
				if got[i] == nil {
					if holder != "" {
						t.Fatalf("round %d: t%d and %s both acquired %s", round, i, holder, key)
					}
					holder = fmt.Sprint("t", i)
				}
			}
			if holder == "" {
				t.Fatalf("round %d: nobody acquired %s", round, key)
			}
			for i, r := range got {
				if r != nil && r.LockToken != holder {
					t.Fatalf("round %d: caller %d was shown holder %s; want %s", round, i, r.LockToken, holder)
				}
			}
		}
	})
	t.Run("missing record", func(t *testing.T) {
		s := newStore(t)
		if g, err := s.Get(ctx, "nope"); g != nil || err != nil {
			t.Fatalf("Get = %+v, %v; want nil, nil", g, err)
		}
		if err := s.Release(ctx, "nope", "t"); err != nil {
			t.Fatalf("Release of a missing record = %v; want nil (the key is free)", err)
		}
		if err := s.Complete(ctx, "nope", "t", resp); !errors.Is(err, idempotency.ErrNotOwner) {
			t.Fatalf("Complete of a missing record = %v; want ErrNotOwner", err)
		}
	})
}

func TestMemoryStore(t *testing.T) {
	testStore(t, func(*testing.T) store { return memstore.NewIdempotency() })
}

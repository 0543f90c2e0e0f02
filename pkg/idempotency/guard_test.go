package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
)

func created(body string) idempotency.Response {
	return idempotency.Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

// backends runs f against the memory store and, with the integration
// tag, the DynamoDB ones (moto) that awsBackends holds.
func backends(t *testing.T, f func(t *testing.T, s idempotency.Store)) {
	t.Run("memory", func(t *testing.T) { f(t, idempotency.NewMemory()) })
	for _, b := range awsBackends {
		t.Run(b.name, func(t *testing.T) { f(t, b.store(t)) })
	}
}

// awsBackends are the stores on moto (idempotency_aws_test.go).
var awsBackends []struct {
	name  string
	store func(t *testing.T) idempotency.Store
}

func withDeadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestGuardReplaysAndRejectsMismatch(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Store: s}
		ctx := withDeadline(t, 5*time.Second)
		calls := 0
		fn := func(context.Context) idempotency.Response { calls++; return created(fmt.Sprintf(`{"n":%d}`, calls)) }

		first, replayed, err := g.Do(ctx, "platform-a", "key-1", "fp1", fn)
		if err != nil || replayed || string(first.Body) != `{"n":1}` {
			t.Fatalf("first = %s, %v, %v", first.Body, replayed, err)
		}
		again, replayed, err := g.Do(ctx, "platform-a", "key-1", "fp1", fn)
		if err != nil || !replayed || string(again.Body) != `{"n":1}` || again.Status != 201 {
			t.Fatalf("replay = %d %s, %v, %v; want the first response", again.Status, again.Body, replayed, err)
		}
		if _, _, err := g.Do(ctx, "platform-a", "key-1", "fp2", fn); !errors.Is(err, idempotency.ErrKeyReused) {
			t.Fatalf("other payload = %v; want ErrKeyReused", err)
		}
		// The same key from another platform is another record.
		other, replayed, err := g.Do(ctx, "platform-b", "key-1", "fp1", fn)
		if err != nil || replayed || string(other.Body) != `{"n":2}` {
			t.Fatalf("other scope = %s, %v, %v; want a fresh run", other.Body, replayed, err)
		}
		if calls != 2 {
			t.Fatalf("handler ran %d times; want 2", calls)
		}
	})
}

func TestGuardFailureReleasesKey(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Store: s}
		ctx := withDeadline(t, 5*time.Second)
		resp, _, err := g.Do(ctx, "p", "k", "fp", func(context.Context) idempotency.Response {
			return idempotency.Response{Status: 503, Body: []byte("down")}
		})
		if err != nil || resp.Status != 503 {
			t.Fatalf("failing run = %d, %v", resp.Status, err)
		}
		resp, replayed, err := g.Do(ctx, "p", "k", "fp", func(context.Context) idempotency.Response { return created("ok") })
		if err != nil || replayed || resp.Status != 201 {
			t.Fatalf("retry after failure = %d, replayed %v, %v; want a fresh 201", resp.Status, replayed, err)
		}
	})
}

func TestGuardExpiredRecordRunsAgain(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		now := time.Now()
		clock := func() time.Time { return now }
		g := &idempotency.Guard{Store: s, Now: clock, TTL: time.Hour}
		ctx := withDeadline(t, 5*time.Second)
		n := 0
		fn := func(context.Context) idempotency.Response { n++; return created(fmt.Sprint(n)) }
		g.Do(ctx, "p", "k", "fp", fn)
		now = now.Add(time.Hour + 2*time.Second)
		resp, replayed, err := g.Do(ctx, "p", "k", "other-fp", fn)
		if err != nil || replayed || string(resp.Body) != "2" {
			t.Fatalf("after expiry = %s, %v, %v; want a fresh run (even with another payload)", resp.Body, replayed, err)
		}
	})
}

func TestGuardCrashedRequestBlocksOnlyUntilItsDeadline(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Store: s, LockMargin: 200 * time.Millisecond, MaxWait: 50 * time.Millisecond}
		// The first request holds the lock and dies: its handler never
		// returns within its life, and nothing releases the key.
		lockEnds := time.Now().Add(1200 * time.Millisecond) // deadline 1 s + margin 200 ms
		crashCtx, crash := context.WithDeadline(context.Background(), lockEnds.Add(-200*time.Millisecond))
		started, gone := make(chan struct{}), make(chan struct{})
		defer close(gone)
		go g.Do(crashCtx, "p", "k", "fp", func(ctx context.Context) idempotency.Response {
			close(started)
			<-gone // a Lambda that was killed never comes back
			return idempotency.Response{}
		})
		<-started
		_, _, err := g.Do(withDeadline(t, time.Second), "p", "k", "fp", func(context.Context) idempotency.Response { return created("retry") })
		if !errors.Is(err, idempotency.ErrKeyInUse) {
			t.Fatalf("retry inside the lock's life = %v; want ErrKeyInUse", err)
		}
		crash()
		time.Sleep(time.Until(lockEnds.Add(100 * time.Millisecond))) // past the deadline plus margin
		resp, replayed, err := g.Do(withDeadline(t, time.Second), "p", "k", "fp", func(context.Context) idempotency.Response { return created("retry") })
		if err != nil || replayed || string(resp.Body) != "retry" {
			t.Fatalf("retry after the lock expired = %s, %v, %v; want a fresh run", resp.Body, replayed, err)
		}
	})
}

func TestGuardWaitsForInProgressAndReplays(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Store: s}
		release := make(chan struct{})
		started := make(chan struct{})
		var runs atomic.Int32
		fn := func(context.Context) idempotency.Response {
			if runs.Add(1) == 1 {
				close(started)
			}
			<-release
			return created("only")
		}
		done := make(chan idempotency.Response, 1)
		go func() {
			r, _, _ := g.Do(withDeadline(t, 5*time.Second), "p", "k", "fp", fn)
			done <- r
		}()
		<-started
		go func() { time.Sleep(200 * time.Millisecond); close(release) }()
		resp, replayed, err := g.Do(withDeadline(t, 5*time.Second), "p", "k", "fp", fn)
		if err != nil || !replayed || string(resp.Body) != "only" {
			t.Fatalf("waiting duplicate = %s, %v, %v; want the replay", resp.Body, replayed, err)
		}
		if r := <-done; string(r.Body) != "only" || runs.Load() != 1 {
			t.Fatalf("first = %s, runs = %d", r.Body, runs.Load())
		}
	})
}

func TestFingerprintIsCanonical(t *testing.T) {
	a, _ := idempotency.Fingerprint("POST", "/customers/c1/kyc-link", []byte(`{"redirectUri":"https://x.example","b":[1,2]}`))
	b, _ := idempotency.Fingerprint("POST", "/customers/c1/kyc-link", []byte(" {\n \"b\" : [1, 2], \"redirectUri\":\"https://x.example\"}\n"))
	if a != b {
		t.Fatal("whitespace or key order changed the fingerprint")
	}
	empty, _ := idempotency.Fingerprint("POST", "/customers/c1/kyc-link", nil)
	obj, _ := idempotency.Fingerprint("POST", "/customers/c1/kyc-link", []byte("{}"))
	if empty != obj {
		t.Fatal("an empty body must equal {}")
	}
	other, _ := idempotency.Fingerprint("POST", "/customers/c2/kyc-link", nil)
	if other == empty {
		t.Fatal("another customer must change the fingerprint")
	}
	if _, err := idempotency.Fingerprint("POST", "/", []byte("{")); err == nil {
		t.Fatal("a body that is not JSON must not get a fingerprint")
	}
}

func TestKeyIsScopedAndOpaque(t *testing.T) {
	if idempotency.Key("a", "k") == idempotency.Key("b", "k") {
		t.Fatal("two scopes share a key")
	}
	// A scope/key split must not collide with another split of the same text.
	if idempotency.Key("ab", "c") == idempotency.Key("a", "bc") {
		t.Fatal("scope and key run together")
	}
	if k := idempotency.Key("a", "key-1"); len(k) != 64 {
		t.Fatalf("Key = %q; want a hex SHA-256", k)
	}
}

// TestGuardCleanupEndsByTheDeadline: whatever hangs after the handler
// (storing, releasing), Do answers by the request's deadline; the handler
// itself gets the deadline less the two cleanup steps.
func TestGuardCleanupEndsByTheDeadline(t *testing.T) {
	const step = 100 * time.Millisecond
	for _, tc := range []struct {
		name                        string
		stallComplete, stallRelease bool
		handler                     func(ctx context.Context) idempotency.Response
	}{
		{"complete and release hang", true, true,
			func(context.Context) idempotency.Response { return created("x") }},
		{"handler runs to its deadline, release hangs", false, true,
			func(ctx context.Context) idempotency.Response { <-ctx.Done(); return idempotency.Response{Status: 503} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &idempotency.Guard{CleanupStep: step,
				Store: &stallingStore{Store: idempotency.NewMemory(), stallComplete: tc.stallComplete, stallRelease: tc.stallRelease}}
			ctx := withDeadline(t, time.Second)
			deadline, _ := ctx.Deadline()
			var handlerDeadline time.Time
			g.Do(ctx, "p", "k", "fp", func(ctx context.Context) idempotency.Response {
				handlerDeadline, _ = ctx.Deadline()
				return tc.handler(ctx)
			})
			// Scheduling slack only (a loaded CI machine); before the fix cleanup
			// ran 1-2 s past it.
			if late := time.Since(deadline); late > 500*time.Millisecond {
				t.Fatalf("Do answered %s after the request's deadline; cleanup must fit inside it", late.Round(time.Millisecond))
			}
			if want := deadline.Add(-2 * step); handlerDeadline.After(want) {
				t.Fatalf("handler deadline %s; want at most the request's less two cleanup steps (%s)",
					handlerDeadline.Format(time.StampMilli), want.Format(time.StampMilli))
			}
		})
	}
}

// TestGuardReleasesAfterCompleteTimesOut: a Complete that uses all its
// time must leave Release its own, so the key is free for the retry
// instead of locked until the lock expires.
func TestGuardReleasesAfterCompleteTimesOut(t *testing.T) {
	mem := idempotency.NewMemory()
	g := &idempotency.Guard{Store: &stallingStore{Store: mem, stallComplete: true}, MaxWait: 50 * time.Millisecond}
	if resp, _, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", "fp",
		func(context.Context) idempotency.Response { return created("first") }); err != nil || resp.Status != 201 {
		t.Fatalf("first = %d, %v; want the 201 though it was not stored", resp.Status, err)
	}
	resp, replayed, err := (&idempotency.Guard{Store: mem}).Do(withDeadline(t, 2*time.Second), "p", "k", "fp",
		func(context.Context) idempotency.Response { return created("retry") })
	if err != nil || replayed || string(resp.Body) != "retry" {
		t.Fatalf("retry = %s, replayed %v, %v; want a fresh run (the key released)", resp.Body, replayed, err)
	}
}

// TestGuardReplayEndsWithTheResponse: a stored answer that expires (a link)
// is replayed only until then; after it the same key runs afresh instead
// of handing out a dead link for the rest of the record's 24 h.
func TestGuardReplayEndsWithTheResponse(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		var now atomic.Int64
		now.Store(time.Now().UnixNano())
		clock := func() time.Time { return time.Unix(0, now.Load()) }
		g := &idempotency.Guard{Store: s, Now: clock, TTL: 24 * time.Hour}
		n := 0
		fn := func(context.Context) idempotency.Response {
			n++
			r := created(fmt.Sprint(n))
			r.ExpiresAt = clock().Add(30 * time.Minute)
			return r
		}
		ctx := withDeadline(t, 5*time.Second)
		g.Do(ctx, "p", "k", "fp", fn)
		now.Add(int64(29 * time.Minute))
		if resp, replayed, err := g.Do(ctx, "p", "k", "fp", fn); err != nil || !replayed || string(resp.Body) != "1" {
			t.Fatalf("before the link expires = %s, replayed %v, %v; want the replay", resp.Body, replayed, err)
		}
		now.Add(int64(2 * time.Minute))
		if resp, replayed, err := g.Do(ctx, "p", "k", "fp", fn); err != nil || replayed || string(resp.Body) != "2" {
			t.Fatalf("after the link expired = %s, replayed %v, %v; want a fresh run", resp.Body, replayed, err)
		}
	})
}

// stallingStore wraps a store so that Complete and/or Release hang until
// their context ends. Like a real client, a call whose context has already
// ended fails without reaching the store.
type stallingStore struct {
	idempotency.Store
	stallComplete, stallRelease bool
}

func (s *stallingStore) Complete(ctx context.Context, key, token string, resp idempotency.Response) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.stallComplete {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Store.Complete(ctx, key, token, resp)
}

func (s *stallingStore) Release(ctx context.Context, key, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.stallRelease {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Store.Release(ctx, key, token)
}

package idempotency_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

func created(body string) idempotency.Response {
	return idempotency.Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

// backends runs f against the memory store and, with the integration
// tag, the DynamoDB ones (moto) that awsBackends holds.
func backends(t *testing.T, f func(t *testing.T, s idempotency.Store)) {
	t.Run("memory", func(t *testing.T) { f(t, memstore.NewIdempotency()) })
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
		g := &idempotency.Guard{Secret: secret, Store: s}
		ctx := withDeadline(t, 5*time.Second)
		calls := 0
		fn := func(context.Context, string) idempotency.Response {
			calls++
			return created(fmt.Sprintf(`{"n":%d}`, calls))
		}

		first, replayed, err := g.Do(ctx, "platform-a", "key-1", pl("fp1"), fn)
		if err != nil || replayed || string(first.Body) != `{"n":1}` {
			t.Fatalf("first = %s, %v, %v", first.Body, replayed, err)
		}
		again, replayed, err := g.Do(ctx, "platform-a", "key-1", pl("fp1"), fn)
		if err != nil || !replayed || string(again.Body) != `{"n":1}` || again.Status != 201 {
			t.Fatalf("replay = %d %s, %v, %v; want the first response", again.Status, again.Body, replayed, err)
		}
		if _, _, err := g.Do(ctx, "platform-a", "key-1", pl("fp2"), fn); !errors.Is(err, idempotency.ErrKeyReused) {
			t.Fatalf("other payload = %v; want ErrKeyReused", err)
		}
		// The same key from another platform is another record.
		other, replayed, err := g.Do(ctx, "platform-b", "key-1", pl("fp1"), fn)
		if err != nil || replayed || string(other.Body) != `{"n":2}` {
			t.Fatalf("other scope = %s, %v, %v; want a fresh run", other.Body, replayed, err)
		}
		if calls != 2 {
			t.Fatalf("handler ran %d times; want 2", calls)
		}
	})
}

// TestGuardFailureFreesTheKeyForItsRetry: a failed run neither blocks
// its retry nor is replayed to it.
func TestGuardFailureFreesTheKeyForItsRetry(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Secret: secret, Store: s}
		ctx := withDeadline(t, 5*time.Second)
		resp, _, err := g.Do(ctx, "p", "k", pl("fp"), func(context.Context, string) idempotency.Response {
			return idempotency.Response{Status: 503, Body: []byte("down")}
		})
		if err != nil || resp.Status != 503 {
			t.Fatalf("failing run = %d, %v", resp.Status, err)
		}
		resp, replayed, err := g.Do(ctx, "p", "k", pl("fp"), func(context.Context, string) idempotency.Response { return created("ok") })
		if err != nil || replayed || resp.Status != 201 {
			t.Fatalf("retry after failure = %d, replayed %v, %v; want a fresh 201", resp.Status, replayed, err)
		}
	})
}

func TestGuardExpiredRecordRunsAgain(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		now := time.Now()
		clock := func() time.Time { return now }
		g := &idempotency.Guard{Secret: secret, Store: s, Now: clock, TTL: time.Hour}
		ctx := withDeadline(t, 5*time.Second)
		n := 0
		fn := func(context.Context, string) idempotency.Response { n++; return created(fmt.Sprint(n)) }
		g.Do(ctx, "p", "k", pl("fp"), fn)
		now = now.Add(time.Hour + 2*time.Second)
		resp, replayed, err := g.Do(ctx, "p", "k", pl("other-fp"), fn)
		if err != nil || replayed || string(resp.Body) != "2" {
			t.Fatalf("after expiry = %s, %v, %v; want a fresh run (even with another payload)", resp.Body, replayed, err)
		}
	})
}

func TestGuardCrashedRequestBlocksOnlyUntilItsDeadline(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Secret: secret, Store: s, LockMargin: 200 * time.Millisecond, MaxWait: 50 * time.Millisecond}
		// The first request holds the lock and dies: its handler never
		// returns within its life, and nothing releases the key.
		lockEnds := time.Now().Add(1200 * time.Millisecond) // deadline 1 s + margin 200 ms
		crashCtx, crash := context.WithDeadline(context.Background(), lockEnds.Add(-200*time.Millisecond))
		started, gone := make(chan struct{}), make(chan struct{})
		defer close(gone)
		go g.Do(crashCtx, "p", "k", pl("fp"), func(ctx context.Context, _ string) idempotency.Response {
			close(started)
			<-gone // a Lambda that was killed never comes back
			return idempotency.Response{}
		})
		<-started
		_, _, err := g.Do(withDeadline(t, time.Second), "p", "k", pl("fp"), func(context.Context, string) idempotency.Response { return created("retry") })
		if !errors.Is(err, idempotency.ErrKeyInUse) {
			t.Fatalf("retry inside the lock's life = %v; want ErrKeyInUse", err)
		}
		crash()
		time.Sleep(time.Until(lockEnds.Add(100 * time.Millisecond))) // past the deadline plus margin
		resp, replayed, err := g.Do(withDeadline(t, time.Second), "p", "k", pl("fp"), func(context.Context, string) idempotency.Response { return created("retry") })
		if err != nil || replayed || string(resp.Body) != "retry" {
			t.Fatalf("retry after the lock expired = %s, %v, %v; want a fresh run", resp.Body, replayed, err)
		}
	})
}

func TestGuardWaitsForInProgressAndReplays(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Secret: secret, Store: s}
		release := make(chan struct{})
		started := make(chan struct{})
		var runs atomic.Int32
		fn := func(context.Context, string) idempotency.Response {
			if runs.Add(1) == 1 {
				close(started)
			}
			<-release
			return created("only")
		}
		done := make(chan idempotency.Response, 1)
		go func() {
			r, _, _ := g.Do(withDeadline(t, 5*time.Second), "p", "k", pl("fp"), fn)
			done <- r
		}()
		<-started
		go func() { time.Sleep(200 * time.Millisecond); close(release) }()
		resp, replayed, err := g.Do(withDeadline(t, 5*time.Second), "p", "k", pl("fp"), fn)
		if err != nil || !replayed || string(resp.Body) != "only" {
			t.Fatalf("waiting duplicate = %s, %v, %v; want the replay", resp.Body, replayed, err)
		}
		if r := <-done; string(r.Body) != "only" || runs.Load() != 1 {
			t.Fatalf("first = %s, runs = %d", r.Body, runs.Load())
		}
	})
}

func TestFingerprintIsCanonical(t *testing.T) {
	key := []byte("the guard tests' key, 32 bytes!!")
	fp := func(path, body string) string {
		t.Helper()
		f, err := idempotency.Fingerprint(key, idempotency.Payload{Method: "POST", Path: path, Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if fp("/customers/c1/kyc-link", `{"redirectUri":"https://x.example","b":[1,2]}`) !=
		fp("/customers/c1/kyc-link", " {\n \"b\" : [1, 2], \"redirectUri\":\"https://x.example\"}\n") {
		t.Fatal("whitespace or key order changed the fingerprint")
	}
	if fp("/customers/c1/kyc-link", "") != fp("/customers/c1/kyc-link", "{}") {
		t.Fatal("an empty body must equal {}")
	}
	if fp("/customers/c2/kyc-link", "") == fp("/customers/c1/kyc-link", "") {
		t.Fatal("another customer must change the fingerprint")
	}
	if _, err := idempotency.Fingerprint(key, idempotency.Payload{Method: "POST", Path: "/", Body: []byte("{")}); err == nil {
		t.Fatal("a body that is not JSON must not get a fingerprint")
	}
}

// TestFingerprintIsKeyed: the fingerprint of a body with an SSN cannot be
// recomputed without the secret (issue 27: an unkeyed SHA-256 over the
// canonical body gave the SSN back from a 10^6 guess space in 0.4 s), and
// neither can the stored key.
func TestFingerprintIsKeyed(t *testing.T) {
	body := []byte(`{"customerType":"INDIVIDUAL","idType":"SSN","identifier":"623-33-1001"}`)
	p := idempotency.Payload{Method: "POST", Path: "/customers", Body: body}
	a, _ := idempotency.Fingerprint([]byte("one key of at least thirty-two bytes"), p)
	b, _ := idempotency.Fingerprint([]byte("another key of thirty-two bytes!"), p)
	if a == b {
		t.Fatal("the fingerprint does not depend on the secret")
	}
	// What the stored fingerprint was before: SHA-256 over method, path
	// and canonical body. A guesser who has the table computes exactly this.
	unkeyed := sha256.Sum256([]byte("POST\n/customers\n" + `{"customerType":"INDIVIDUAL","idType":"SSN","identifier":"623-33-1001"}`))
	if a == hex.EncodeToString(unkeyed[:]) {
		t.Fatal("the fingerprint is an unkeyed hash of the body")
	}
	if idempotency.Key([]byte("one key of at least thirty-two bytes"), "p", "k") == idempotency.Key([]byte("another key of thirty-two bytes!"), "p", "k") {
		t.Fatal("the stored key does not depend on the secret")
	}
}

func TestGuardRefusesAShortOrMissingSecret(t *testing.T) {
	fn := func(context.Context, string) idempotency.Response { return created("x") }
	for name, g := range map[string]*idempotency.Guard{
		"none":  {Store: memstore.NewIdempotency()},
		"short": {Store: memstore.NewIdempotency(), Secret: func(context.Context) ([]byte, error) { return []byte("short"), nil }},
	} {
		if _, _, err := g.Do(withDeadline(t, time.Second), "p", "k", pl("fp"), fn); err == nil {
			t.Errorf("%s: Do ran without a usable secret", name)
		}
	}
}

func TestKeyIsScopedAndOpaque(t *testing.T) {
	key := []byte("the guard tests' key, 32 bytes!!")
	if idempotency.Key(key, "a", "k") == idempotency.Key(key, "b", "k") {
		t.Fatal("two scopes share a key")
	}
	// A scope/key split must not collide with another split of the same text.
	if idempotency.Key(key, "ab", "c") == idempotency.Key(key, "a", "bc") {
		t.Fatal("scope and key run together")
	}
	if k := idempotency.Key(key, "a", "key-1"); len(k) != 64 {
		t.Fatalf("Key = %q; want a hex HMAC-SHA-256", k)
	}
}

// TestGuardRetryAfterAFailureKeepsTheIntent: whatever ends an attempt
// without a stored answer after it may have done its work (a 5xx, a
// crash past the lock, an answer not stored), the retry with the same key
// and payload runs under the same intent, so it finds that work instead
// of doing it twice (issue 27: a create whose answer was lost, retried
// with its key, made a second customer). A refusal (4xx) frees the key:
// a corrected payload runs under a new intent.
func TestGuardRetryAfterAFailureKeepsTheIntent(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Secret: secret, Store: s}
		ctx := withDeadline(t, 5*time.Second)
		intents, answer := intentsOf()
		g.Do(ctx, "p", "k", pl("fp"), answer(503))
		g.Do(ctx, "p", "k", pl("fp"), answer(500))
		if _, _, err := g.Do(ctx, "p", "k", pl("other"), answer(201)); !errors.Is(err, idempotency.ErrKeyReused) {
			t.Fatalf("another payload after a 5xx = %v; want ErrKeyReused (the first may have done its work)", err)
		}
		resp, replayed, err := g.Do(ctx, "p", "k", pl("fp"), answer(201))
		if err != nil || replayed || resp.Status != 201 {
			t.Fatalf("retry = %d, replayed %v, %v", resp.Status, replayed, err)
		}
		if len(*intents) != 3 || (*intents)[0] == "" || (*intents)[1] != (*intents)[0] || (*intents)[2] != (*intents)[0] {
			t.Fatalf("intents %q; want one, three times", *intents)
		}
		if again, replayed, _ := g.Do(ctx, "p", "k", pl("fp"), answer(201)); !replayed || string(again.Body) != (*intents)[0] {
			t.Fatalf("after the 201: %s, replayed %v; want the replay", again.Body, replayed)
		}

		*intents = nil
		g.Do(ctx, "p", "k2", pl("fp"), answer(400))
		resp, _, err = g.Do(ctx, "p", "k2", pl("corrected"), answer(201))
		if err != nil || resp.Status != 201 || len(*intents) != 2 || (*intents)[0] == (*intents)[1] {
			t.Fatalf("corrected payload after a 400 = %d, %v, intents %q; want a fresh run under a new intent", resp.Status, err, *intents)
		}
	})
}

// TestGuardTakesOverACrashedAttemptWithItsIntent: an attempt killed
// mid-run (nothing unlocks its key) is taken over once its lock expires,
// under its intent.
func TestGuardTakesOverACrashedAttemptWithItsIntent(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		now := time.Now()
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		g := &idempotency.Guard{Secret: secret, Store: s, Now: clock, MaxWait: time.Millisecond}
		first := make(chan string, 1)
		crashed := &idempotency.Guard{Secret: secret, Store: &crashingStore{Store: s}, Now: clock}
		crashed.Do(withDeadline(t, 5*time.Second), "p", "k", pl("fp"), func(_ context.Context, intent string) idempotency.Response {
			first <- intent
			return idempotency.Response{Status: 503}
		})
		if _, _, err := g.Do(withDeadline(t, 5*time.Second), "p", "k", pl("fp"), nil); !errors.Is(err, idempotency.ErrKeyInUse) {
			t.Fatalf("retry while the crashed attempt's lock lives = %v; want ErrKeyInUse", err)
		}
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		var got string
		resp, _, err := g.Do(withDeadline(t, 5*time.Second), "p", "k", pl("fp"), func(_ context.Context, intent string) idempotency.Response {
			got = intent
			return created("ok")
		})
		if want := <-first; err != nil || resp.Status != 201 || got != want {
			t.Fatalf("retry after the lock expired = %d, %v, intent %q; want 201 under %q", resp.Status, err, got, want)
		}
	})
}

// crashingStore loses every call after the handler: the process died.
type crashingStore struct{ idempotency.Store }

func (crashingStore) Complete(context.Context, string, string, idempotency.Response) error {
	return errors.New("crashed")
}
func (crashingStore) Release(context.Context, string, string) error { return errors.New("crashed") }
func (crashingStore) Abandon(context.Context, string, string) error { return errors.New("crashed") }

// TestGuardCleanupEndsByTheDeadline: whatever hangs after the handler
// (storing, releasing), Do answers by the request's deadline; the handler
// itself gets the deadline less the two cleanup steps.
func TestGuardCleanupEndsByTheDeadline(t *testing.T) {
	const step = 100 * time.Millisecond
	for _, tc := range []struct {
		name                        string
		stallComplete, stallRelease bool
		handler                     func(context.Context, string) idempotency.Response
	}{
		{"complete and release hang", true, true,
			func(context.Context, string) idempotency.Response { return created("x") }},
		{"handler runs to its deadline, release hangs", false, true,
			func(ctx context.Context, _ string) idempotency.Response {
				<-ctx.Done()
				return idempotency.Response{Status: 503}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &stallingStore{Store: memstore.NewIdempotency(), stallComplete: tc.stallComplete, stallRelease: tc.stallRelease}
			g := &idempotency.Guard{Secret: secret, CleanupStep: step, Store: store}
			ctx := withDeadline(t, time.Second)
			deadline, _ := ctx.Deadline()
			var handlerDeadline time.Time
			g.Do(ctx, "p", "k", pl("fp"), func(ctx context.Context, _ string) idempotency.Response {
				handlerDeadline, _ = ctx.Deadline()
				return tc.handler(ctx, "")
			})
			// Each call after the handler was bounded by the request's
			// deadline (checked on the deadlines the store was given, not
			// on the clock: a loaded machine must not fail this). Before
			// the fix cleanup ran 1-2 s past it.
			if len(store.deadlines) == 0 {
				t.Fatal("no cleanup call reached the store")
			}
			for i, d := range store.deadlines {
				if d.IsZero() || d.After(deadline) {
					t.Fatalf("cleanup call %d had deadline %v; want one by the request's (%s)", i, d, deadline.Format(time.StampMilli))
				}
			}
			if want := deadline.Add(-2 * step); handlerDeadline.After(want) {
				t.Fatalf("handler deadline %s; want at most the request's less two cleanup steps (%s)",
					handlerDeadline.Format(time.StampMilli), want.Format(time.StampMilli))
			}
		})
	}
}

// TestGuardReleasesAfterCompleteTimesOut: a Complete that uses all its
// time must leave the unlocking its own, so the retry goes on at once
// (under the same intent) instead of waiting for the lock to expire.
func TestGuardReleasesAfterCompleteTimesOut(t *testing.T) {
	mem := memstore.NewIdempotency()
	g := &idempotency.Guard{Secret: secret, Store: &stallingStore{Store: mem, stallComplete: true}, MaxWait: 50 * time.Millisecond}
	if resp, _, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"),
		func(context.Context, string) idempotency.Response { return created("first") }); err != nil || resp.Status != 201 {
		t.Fatalf("first = %d, %v; want the 201 though it was not stored", resp.Status, err)
	}
	resp, replayed, err := (&idempotency.Guard{Secret: secret, Store: mem}).Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"),
		func(context.Context, string) idempotency.Response { return created("retry") })
	if err != nil || replayed || string(resp.Body) != "retry" {
		t.Fatalf("retry = %s, replayed %v, %v; want a fresh run (the key unlocked)", resp.Body, replayed, err)
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
		g := &idempotency.Guard{Secret: secret, Store: s, Now: clock, TTL: 24 * time.Hour}
		n := 0
		fn := func(context.Context, string) idempotency.Response {
			n++
			r := created(fmt.Sprint(n))
			r.ExpiresAt = clock().Add(30 * time.Minute)
			return r
		}
		ctx := withDeadline(t, 5*time.Second)
		g.Do(ctx, "p", "k", pl("fp"), fn)
		now.Add(int64(29 * time.Minute))
		if resp, replayed, err := g.Do(ctx, "p", "k", pl("fp"), fn); err != nil || !replayed || string(resp.Body) != "1" {
			t.Fatalf("before the link expires = %s, replayed %v, %v; want the replay", resp.Body, replayed, err)
		}
		now.Add(int64(2 * time.Minute))
		if resp, replayed, err := g.Do(ctx, "p", "k", pl("fp"), fn); err != nil || replayed || string(resp.Body) != "2" {
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
	// deadlines are those of the contexts the cleanup calls were given.
	mu        sync.Mutex
	deadlines []time.Time
}

func (s *stallingStore) note(ctx context.Context) {
	d, _ := ctx.Deadline()
	s.mu.Lock()
	s.deadlines = append(s.deadlines, d)
	s.mu.Unlock()
}

func (s *stallingStore) Complete(ctx context.Context, key, token string, resp idempotency.Response) error {
	s.note(ctx)
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
	if err := s.stall(ctx); err != nil {
		return err
	}
	return s.Store.Release(ctx, key, token)
}

func (s *stallingStore) Abandon(ctx context.Context, key, token string) error {
	if err := s.stall(ctx); err != nil {
		return err
	}
	return s.Store.Abandon(ctx, key, token)
}

// stall hangs a release or an abandon until ctx ends, when told to.
func (s *stallingStore) stall(ctx context.Context) error {
	s.note(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.stallRelease {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// secret is the tests' HMAC key.
func secret(context.Context) ([]byte, error) { return []byte("the guard tests' key, 32 bytes!!"), nil }

// pl is a payload named by fp: equal names, equal payloads.
func pl(fp string) idempotency.Payload {
	return idempotency.Payload{Method: "POST", Path: "/" + fp}
}

// TestGuardTakeoverOutlivesTheRecordsEnd: a retry that takes a record over
// just before the record's end keeps the key until its own lock ends, so a
// later attempt cannot acquire it afresh under a new intent while the
// takeover runs (found in review: two creates at the 24-hour edge).
func TestGuardTakeoverOutlivesTheRecordsEnd(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		start := time.Now()
		var mu sync.Mutex
		now := start
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		set := func(d time.Duration) { mu.Lock(); now = start.Add(d); mu.Unlock() }
		g := &idempotency.Guard{Secret: secret, Store: s, Now: clock, TTL: 10 * time.Second, MaxWait: time.Millisecond}
		var first string
		g.Do(withDeadline(t, 5*time.Second), "p", "k", pl("fp"), func(_ context.Context, intent string) idempotency.Response {
			first = intent
			return idempotency.Response{Status: 503}
		})
		set(8 * time.Second)
		taken, release := make(chan string, 1), make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Its lock ends at its deadline (30 s from the real start) plus
			// the margin; the clock below stays well inside it.
			g.Do(withDeadline(t, 30*time.Second), "p", "k", pl("fp"), func(_ context.Context, intent string) idempotency.Response {
				taken <- intent
				<-release
				return created("taken over")
			})
		}()
		if got := <-taken; got != first {
			t.Fatalf("the takeover runs under %q; want the first intent %q", got, first)
		}
		set(12 * time.Second) // past the record's 10 s, inside the takeover's lock
		var third string
		_, _, err := g.Do(withDeadline(t, 5*time.Second), "p", "k", pl("fp"), func(_ context.Context, intent string) idempotency.Response {
			third = intent
			return created("third")
		})
		close(release)
		<-done
		if third != "" {
			t.Fatalf("an attempt ran under intent %q beside the takeover of %q; want it refused or made to wait (err %v)", third, first, err)
		}
		if !errors.Is(err, idempotency.ErrKeyInUse) {
			t.Fatalf("an attempt during the takeover = %v; want ErrKeyInUse", err)
		}
	})
}

// TestGuardNeverReleasesARecordTakenOver: a refusal (4xx) frees a fresh
// key, but an attempt that took a record over answers for a key an
// earlier attempt may have acted on: the record and its intent stay.
func TestGuardNeverReleasesARecordTakenOver(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Secret: secret, Store: s}
		ctx := withDeadline(t, 5*time.Second)
		intents, answer := intentsOf()
		g.Do(ctx, "p", "k", pl("fp"), answer(503))
		g.Do(ctx, "p", "k", pl("fp"), answer(429))
		g.Do(ctx, "p", "k", pl("fp"), answer(201))
		if len(*intents) != 3 || (*intents)[1] != (*intents)[0] || (*intents)[2] != (*intents)[0] {
			t.Fatalf("intents %q; want the first kept after the takeover's 429", *intents)
		}
	})
}

// intentsOf records the intents handlers run under: answer(status) is a
// handler that notes its intent and answers status with the intent as body.
func intentsOf() (*[]string, func(status int) func(context.Context, string) idempotency.Response) {
	var intents []string
	return &intents, func(status int) func(context.Context, string) idempotency.Response {
		return func(_ context.Context, intent string) idempotency.Response {
			intents = append(intents, intent)
			return idempotency.Response{Status: status, Body: []byte(intent)}
		}
	}
}

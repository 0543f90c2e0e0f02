package webhooks_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// TestPollDeliversWhileAPlatformHangs: the local worker receives again
// while an attempt hangs. Webhooks queued during the hang are delivered
// during it: one for a healthy platform, and one for a platform that
// answers 500 three times before it accepts (retried a second apart).
// Before, Poll waited for the slowest attempt of a batch, so both waited
// for the hang, and the flaky platform's retries ran out its retry window
// (dead-lettered instead of delivered).
func TestPollDeliversWhileAPlatformHangs(t *testing.T) {
	for _, concurrency := range []int{2, 10} {
		t.Run(fmt.Sprintf("concurrency %d", concurrency), func(t *testing.T) {
			p := newPlatforms(t)
			q := &fakeQueue{}
			w := p.worker(q, concurrency)
			dead := &memstore.DeadLetters{}
			w.DeadLetters = dead
			q.add(p.message("Webhook:slow", "slow"))
			stop := run(t, w.Poll)
			p.waitSlow(t, 1)
			q.add(p.message("Webhook:fast", "fast"), p.message("Webhook:flaky", "flaky"))
			p.waitFast(t, "Webhook:fast")
			waitUntil(t, "the flaky platform accepted its webhook during the hang", func() bool { return p.flakyHits.Load() == 4 })
			select {
			case id := <-p.entered:
				t.Fatalf("the slow platform got a second attempt (%s) while its first still hangs", id)
			default:
			}
			stop()
			if letters, _ := dead.List(t.Context()); len(letters) != 0 {
				t.Fatalf("dead letters %+v; want none", letters)
			}
		})
	}
}

// TestPollBoundsAttemptsInFlight: with Concurrency 2 and four platforms
// hanging, two attempts run; a third starts only once one of them ends.
func TestPollBoundsAttemptsInFlight(t *testing.T) {
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // runs first
	p := newPlatforms(t)
	q := &fakeQueue{}
	w := p.worker(q, 2)
	w.Deliverer.Platforms = memstore.NewPlatforms(map[string]string{"hang": hang.URL})
	for i := range 4 {
		q.add(p.message(fmt.Sprintf("Webhook:%d", i), "hang"))
	}
	stop := run(t, w.Poll)
	waitUntil(t, "two attempts in flight", func() bool { return inFlight.Load() >= 2 })
	// Time for a third attempt to start if Poll overran its bound; the
	// check cannot fail when it does not.
	time.Sleep(300 * time.Millisecond)
	if n := inFlight.Load(); n != 2 {
		t.Fatalf("%d attempts in flight; want 2", n)
	}
	once.Do(func() { close(release) })
	waitUntil(t, "all four delivered and deleted", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.deletes == 4
	})
	stop()
	if m := most.Load(); m > 2 {
		t.Fatalf("%d attempts were in flight at once; want at most 2", m)
	}
}

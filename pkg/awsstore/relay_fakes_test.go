package awsstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// fakeQueue keeps what a relay sends it, in order, once per copy.
type fakeQueue struct {
	webhooks.Queue // a relay calls only Send
	mu             sync.Mutex
	msgs           []fakeMessage
	refuse         error // Send fails with it while set
	sends          int   // Send calls
}

type fakeMessage struct{ body string }

func (q *fakeQueue) Send(_ context.Context, bodies [][]byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sends++
	if q.refuse != nil {
		return q.refuse
	}
	for _, b := range bodies {
		q.msgs = append(q.msgs, fakeMessage{body: string(b)})
	}
	return nil
}

// ids returns the id of every notice queued, in order, once per copy.
func (q *fakeQueue) ids() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, m := range q.msgs {
		n, err := webhooks.DecodeMessage([]byte(m.body))
		if err != nil {
			out = append(out, "unreadable")
			continue
		}
		out = append(out, n.ID)
	}
	return out
}

// sendCalls is how many Send calls arrived.
func (q *fakeQueue) sendCalls() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sends
}

// run runs poll until the returned stop, which waits for it to return.
func run(t *testing.T, poll func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { poll(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// wait bounds every wait: far beyond what a poll takes on a loaded
// machine.
const wait = 60 * time.Second

// waitUntil polls cond until it holds, for at most wait.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(wait); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after %s: not %s", wait, what)
		}
	}
}

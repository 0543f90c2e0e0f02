package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// fakeQueue is a queue in memory with the semantics the worker and the
// relay rely on (SQS's): long polls, visibility timeouts, receive counts,
// receipt handles that change with every receive.
type fakeQueue struct {
	mu      sync.Mutex
	msgs    []*fakeMessage
	serial  int
	refuse  error // Send fails with it while set
	sends   int   // Send calls
	deletes int
}

type fakeMessage struct {
	id, body, receipt string
	visibleAt         time.Time
	receives          int
	deleted           bool
}

var _ webhooks.Queue = (*fakeQueue)(nil)

// fakeReceiveWait is how long a receive waits for a message, as
// sqsqueue.Queue's does.
const fakeReceiveWait = time.Second

// add queues bodies as they are, with message ids.
func (q *fakeQueue) add(bodies ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, b := range bodies {
		q.serial++
		q.msgs = append(q.msgs, &fakeMessage{id: fmt.Sprintf("msg-%d", q.serial), body: b})
	}
}

func (q *fakeQueue) Send(_ context.Context, bodies [][]byte) error {
	q.mu.Lock()
	q.sends++
	err := q.refuse
	q.mu.Unlock()
	if err != nil {
		return err
	}
	for _, b := range bodies {
		q.add(string(b))
	}
	return nil
}

func (q *fakeQueue) Receive(ctx context.Context, limit int, visibility time.Duration) ([]webhooks.Received, error) {
	if limit < 1 || limit > 10 {
		return nil, errors.New("fake queue: a receive asks for 1 to 10 messages, as SQS's")
	}
	end := time.Now().Add(fakeReceiveWait)
	for {
		if out := q.receive(limit, visibility); len(out) > 0 || time.Now().After(end) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (q *fakeQueue) receive(limit int, visibility time.Duration) []webhooks.Received {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []webhooks.Received
	now := time.Now()
	for _, m := range q.msgs {
		if len(out) == limit {
			break
		}
		if m.deleted || now.Before(m.visibleAt) {
			continue
		}
		m.receives++
		q.serial++
		m.receipt = fmt.Sprintf("MessageReceiptHandle-%s-%d", m.id, q.serial)
		m.visibleAt = now.Add(visibility.Truncate(time.Second)) // SQS's are whole seconds
		out = append(out, webhooks.Received{ID: m.id, Body: m.body, Receipt: m.receipt, Receives: m.receives})
	}
	return out
}

func (q *fakeQueue) find(receipt string) (*fakeMessage, error) {
	for _, m := range q.msgs {
		if m.receipt == receipt && !m.deleted {
			return m, nil
		}
	}
	return nil, errors.New("fake queue: receipt handle is invalid")
}

func (q *fakeQueue) ChangeVisibility(_ context.Context, receipt string, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.find(receipt)
	if err != nil {
		return err
	}
	m.visibleAt = time.Now().Add(d.Truncate(time.Second))
	return nil
}

func (q *fakeQueue) Delete(_ context.Context, receipt string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.find(receipt)
	if err != nil {
		return err
	}
	m.deleted = true
	q.deletes++
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

// notices is every notice queued, in order, once per copy.
func (q *fakeQueue) notices(t *testing.T) []kyc.Notice {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []kyc.Notice
	for _, m := range q.msgs {
		n, err := webhooks.DecodeMessage([]byte(m.body))
		if err != nil {
			t.Fatalf("queued %q: %v", m.body, err)
		}
		out = append(out, n)
	}
	return out
}

// sendCalls is how many Send calls arrived.
func (q *fakeQueue) sendCalls() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sends
}

package webhooks

import (
	"context"
	"log/slog"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// MemoryQueue delivers notices in process, for local runs on the memory
// backend: the same attempt, Deliverer and Policy as the queue worker, with
// timers in place of the queue's visibility timeout. Notices in it do not
// survive the process; the DynamoDB outbox is what makes delivery durable.
type MemoryQueue struct {
	Context        context.Context // ends the retries
	Deliverer      *Deliverer
	Policy         Policy
	DeadLetters    DeadLetters
	AttemptTimeout time.Duration
	Now            func() time.Time
	Logger         *slog.Logger
}

// Enqueue starts delivering n.
func (q *MemoryQueue) Enqueue(n kyc.Notice) { go q.attempt(n, 1) }

// attempt makes the k-th attempt of n. A notice the attempt did not settle
// (its dead letter could not be stored) comes back after the backoff, as a
// queued message comes back after its visibility timeout: never dropped.
func (q *MemoryQueue) attempt(n kyc.Notice, k int) {
	if q.Context.Err() != nil {
		return
	}
	a := attempts{deliverer: q.Deliverer, policy: q.Policy, deadLetters: q.DeadLetters, timeout: q.AttemptTimeout, now: q.Now, logger: q.Logger}
	later := func(_ context.Context, _ *slog.Logger, wait time.Duration) time.Duration {
		time.AfterFunc(wait, func() { q.attempt(n, k+1) })
		return wait
	}
	if a.attempt(q.Context, n, k, later) == held {
		later(q.Context, nil, q.Policy.Backoff(k))
	}
}

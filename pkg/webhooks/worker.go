package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Queue is the queue between the relay and the worker (SQS:
// sqsqueue.Queue). A message received is hidden from other receivers for
// its visibility timeout, then comes back unless it was deleted; each
// receipt counts.
type Queue interface {
	// Send queues messages. After an error some may be queued: the caller
	// sends them all again (duplicates carry the same notice id, which
	// platforms drop).
	Send(ctx context.Context, bodies [][]byte) error
	// Receive waits briefly for messages and returns at most limit of
	// them, each hidden for visibility.
	Receive(ctx context.Context, limit int, visibility time.Duration) ([]Received, error)
	// ChangeVisibility hides a received message for d from now.
	ChangeVisibility(ctx context.Context, receipt string, d time.Duration) error
	// Delete removes a received message for good.
	Delete(ctx context.Context, receipt string) error
}

// Received is one queue message as the worker sees it.
type Received struct {
	ID       string // the queue's message id, unique per message
	Body     string
	Receipt  string // this receipt's handle, for ChangeVisibility and Delete
	Receives int    // how many times the queue handed it out: the attempt number
}

// Worker delivers queued notices: one attempt per receipt, then either the
// message is done (delivered, dropped, or dead-lettered) or it is hidden
// for the policy's backoff and comes back for the next attempt. The
// queue's receive count is the attempt number.
type Worker struct {
	Deliverer   *Deliverer
	Policy      Policy
	Queue       Queue
	DeadLetters DeadLetters
	// AttemptTimeout bounds one delivery (10 s): a slow platform holds only
	// its own message.
	AttemptTimeout time.Duration
	// Concurrency bounds deliveries in flight (10).
	Concurrency int
	Now         func() time.Time
	Logger      *slog.Logger
}

// maxVisibility is the longest a message can be hidden (SQS's limit on
// ChangeMessageVisibility).
const maxVisibility = 12 * time.Hour

// maxUnreadableBody is how much of an unreadable message's body its dead
// letter keeps: enough for an operator to see what it was, well inside
// DynamoDB's 400 KB item (SQS bodies go up to 1 MiB).
const maxUnreadableBody = 64 << 10

// UnreadablePrefix starts the id of the dead letter of a queue message
// that was no notice; the rest is the queue's message id.
const UnreadablePrefix = "unreadable:"

// handle makes one attempt for a received message and reports whether the
// message is done. One not done returns for its next attempt: after the
// policy's backoff when the attempt failed, else (shutting down, or its
// dead letter could not be stored) after the queue's visibility timeout.
func (w *Worker) handle(ctx context.Context, m Received) bool {
	attempt := max(m.Receives, 1)
	n, err := DecodeMessage([]byte(m.Body))
	if err != nil {
		// Nothing can ever deliver it; keep it for an operator.
		dl := unreadable(m, attempt, w.Now(), err)
		w.Logger.ErrorContext(ctx, "webhook: unreadable queue message dead-lettered", "message_id", m.ID, "dead_letter_id", dl.Notice.ID,
			"body_bytes", len(m.Body), "error", err.Error())
		return w.attempts().deadLetter(ctx, dl) == nil
	}
	return w.attempts().attempt(ctx, n, attempt, func(ctx context.Context, log *slog.Logger, wait time.Duration) time.Duration {
		wait = min(wait, maxVisibility)
		if m.Receipt != "" {
			if verr := w.Queue.ChangeVisibility(ctx, m.Receipt, wait); verr != nil {
				// The queue's own visibility timeout brings it back instead.
				log.WarnContext(ctx, "webhook: could not set the retry delay", "error", verr.Error())
			}
		}
		return wait
	}) == done
}

func (w *Worker) attempts() attempts {
	return attempts{deliverer: w.Deliverer, policy: w.Policy, deadLetters: w.DeadLetters, timeout: w.AttemptTimeout, now: w.Now, logger: w.Logger}
}

// unreadable is the dead letter of a message that is no notice: keyed by
// its message id (unique; a receipt handle's prefix is not) and keeping
// the start of its body.
func unreadable(m Received, attempt int, now time.Time, cause error) DeadLetter {
	id := m.ID
	if id == "" {
		sum := sha256.Sum256([]byte(m.Body))
		id = "sha256-" + hex.EncodeToString(sum[:16])
	}
	body, note := m.Body, ""
	if len(body) > maxUnreadableBody {
		cut := maxUnreadableBody
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut-- // not inside a character: the attribute is a string
		}
		body = body[:cut]
		note = fmt.Sprintf(" (body truncated: the first %d of %d bytes are kept)", cut, len(m.Body))
	}
	return DeadLetter{Notice: kyc.Notice{ID: UnreadablePrefix + id, Body: []byte(body), CreatedAt: now},
		Attempts: attempt, LastError: cause.Error() + note, DeadAt: now}
}

// HandleSQS is the Lambda handler for the queue (with
// ReportBatchItemFailures): the batch's messages are attempted side by
// side; those not done are reported failed and return after their backoff.
func (w *Worker) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return HandleBatch(ev, w.Concurrency, func(m Received) bool { return w.handle(ctx, m) }), nil
}

// HandleBatch runs handle on each of an SQS event's messages, at most
// concurrency at once, and reports those it did not finish as the
// batch's failures (ReportBatchItemFailures): the webhook worker's and
// the submission worker's Lambda handlers.
func HandleBatch(ev events.SQSEvent, concurrency int, handle func(Received) bool) events.SQSEventResponse {
	var (
		mu   sync.Mutex
		resp events.SQSEventResponse
	)
	sem := make(chan struct{}, max(concurrency, 1))
	var wg sync.WaitGroup
	for _, r := range ev.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			receives, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
			if !handle(Received{ID: r.MessageId, Body: r.Body, Receipt: r.ReceiptHandle, Receives: receives}) {
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp
}

// maxReceive is the most messages one receive returns (SQS's limit on
// ReceiveMessage).
const maxReceive = 10

// Poll runs the worker against the queue outside Lambda (local mode), the
// same attempt logic as HandleSQS, until ctx ends. At most Concurrency
// attempts are in flight, and it receives again as soon as one of them
// ends (as many messages as there are free slots): an attempt that hangs
// holds its own slot, never the messages behind it.
func (w *Worker) Poll(ctx context.Context) {
	slots := make(chan struct{}, max(w.Concurrency, 1))
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		free := take(ctx, slots, maxReceive)
		if free == 0 {
			return
		}
		msgs, err := w.Queue.Receive(ctx, free, w.AttemptTimeout+30*time.Second)
		if err != nil {
			msgs = nil
		}
		// Never more than the slots taken (a queue returns at most what
		// was asked): each attempt gives back one.
		msgs = msgs[:min(len(msgs), free)]
		for range free - len(msgs) {
			<-slots
		}
		if err != nil {
			if ctx.Err() == nil {
				w.Logger.WarnContext(ctx, "webhook queue: receive failed", "error", err.Error())
				sleep(ctx, time.Second)
			}
			continue
		}
		for _, m := range msgs {
			wg.Go(func() {
				defer func() { <-slots }()
				w.process(ctx, m)
			})
		}
	}
}

// take waits for one free slot, then takes up to limit-1 more that are
// free now; it returns how many it took (0 once ctx ends).
func take(ctx context.Context, slots chan struct{}, limit int) int {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for ; n < limit; n++ {
		select {
		case slots <- struct{}{}:
		default:
			return n
		}
	}
	return n
}

// process attempts one received message and deletes it once done.
func (w *Worker) process(ctx context.Context, m Received) {
	if !w.handle(ctx, m) {
		return
	}
	// Done is done even when shutting down: an undeleted message would be
	// delivered again after a restart.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.Queue.Delete(dctx, m.Receipt); err != nil {
		w.Logger.WarnContext(ctx, "webhook queue: delete failed; the message returns (same id)", "error", err.Error())
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

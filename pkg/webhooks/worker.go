package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// QueueAPI is the SQS calls the relay and the worker make.
type QueueAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Worker delivers queued notices: one attempt per receipt, then either the
// message is done (delivered, dropped, or dead-lettered) or it is hidden
// for the policy's backoff and comes back for the next attempt. The
// queue's receive count is the attempt number.
type Worker struct {
	Deliverer   *Deliverer
	Policy      Policy
	Queue       QueueAPI
	QueueURL    string
	DeadLetters DeadLetters
	// AttemptTimeout bounds one delivery (10 s): a slow platform holds only
	// its own message.
	AttemptTimeout time.Duration
	// Concurrency bounds deliveries in flight (10).
	Concurrency int
	Now         func() time.Time
	Logger      *slog.Logger
}

// maxVisibility is SQS's limit on ChangeMessageVisibility.
const maxVisibility = 12 * time.Hour

// maxUnreadableBody is how much of an unreadable message's body its dead
// letter keeps: enough for an operator to see what it was, well inside
// DynamoDB's 400 KB item (SQS bodies go up to 1 MiB).
const maxUnreadableBody = 64 << 10

// UnreadablePrefix starts the id of the dead letter of a queue message
// that was no notice; the rest is the SQS message id.
const UnreadablePrefix = "unreadable:"

// received is one queue message as the worker sees it.
type received struct {
	id      string // SQS message id, unique per message
	body    string
	attempt int // the queue's receive count
	receipt string
}

// handle makes one attempt for a received message and reports whether the
// message is done. One not done returns for its next attempt: after the
// policy's backoff when the attempt failed, else (shutting down, or its
// dead letter could not be stored) after the queue's visibility timeout.
func (w *Worker) handle(ctx context.Context, m received) bool {
	n, err := DecodeMessage([]byte(m.body))
	if err != nil {
		// Nothing can ever deliver it; keep it for an operator.
		dl := unreadable(m, w.Now(), err)
		w.Logger.ErrorContext(ctx, "webhook: unreadable queue message dead-lettered", "message_id", m.id, "dead_letter_id", dl.Notice.ID,
			"body_bytes", len(m.body), "error", err.Error())
		return w.attempts().deadLetter(ctx, dl) == nil
	}
	return w.attempts().attempt(ctx, n, m.attempt, func(ctx context.Context, log *slog.Logger, wait time.Duration) time.Duration {
		wait = min(wait, maxVisibility)
		if m.receipt != "" {
			if _, verr := w.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(w.QueueURL), ReceiptHandle: aws.String(m.receipt), VisibilityTimeout: int32(wait / time.Second),
			}); verr != nil {
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
func unreadable(m received, now time.Time, cause error) DeadLetter {
	id := m.id
	if id == "" {
		sum := sha256.Sum256([]byte(m.body))
		id = "sha256-" + hex.EncodeToString(sum[:16])
	}
	body, note := m.body, ""
	if len(body) > maxUnreadableBody {
		cut := maxUnreadableBody
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut-- // not inside a character: the attribute is a string
		}
		body = body[:cut]
		note = fmt.Sprintf(" (body truncated: the first %d of %d bytes are kept)", cut, len(m.body))
	}
	return DeadLetter{Notice: kyc.Notice{ID: UnreadablePrefix + id, Body: []byte(body), CreatedAt: now},
		Attempts: m.attempt, LastError: cause.Error() + note, DeadAt: now}
}

// HandleSQS is the Lambda handler for the queue (with
// ReportBatchItemFailures): the batch's messages are attempted side by
// side; those not done are reported failed and return after their backoff.
func (w *Worker) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu   sync.Mutex
		resp events.SQSEventResponse
	)
	w.each(len(ev.Records), func(i int) {
		r := ev.Records[i]
		attempt, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		if !w.handle(ctx, received{id: r.MessageId, body: r.Body, attempt: max(attempt, 1), receipt: r.ReceiptHandle}) {
			mu.Lock()
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			mu.Unlock()
		}
	})
	return resp, nil
}

// each runs f(0..n-1) with at most Concurrency in flight.
func (w *Worker) each(n int, f func(i int)) {
	sem := make(chan struct{}, max(w.Concurrency, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// maxReceive is SQS's limit on messages per ReceiveMessage.
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
		out, err := w.Queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(w.QueueURL), MaxNumberOfMessages: int32(free), WaitTimeSeconds: 1,
			VisibilityTimeout:           int32((w.AttemptTimeout + 30*time.Second) / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		var msgs []sqstypes.Message
		if err == nil {
			// Never more than the slots taken (SQS sends at most what was
			// asked): each attempt gives back one.
			msgs = out.Messages[:min(len(out.Messages), free)]
		}
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
func (w *Worker) process(ctx context.Context, m sqstypes.Message) {
	attempt, _ := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	if !w.handle(ctx, received{id: aws.ToString(m.MessageId), body: aws.ToString(m.Body), attempt: max(attempt, 1), receipt: aws.ToString(m.ReceiptHandle)}) {
		return
	}
	// Done is done even when shutting down: an undeleted message would be
	// delivered again after a restart.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := w.Queue.DeleteMessage(dctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		w.Logger.WarnContext(ctx, "webhook queue: delete failed; the message returns (same id)", "error", err.Error())
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Relay moves new outbox notices to the queue.
type Relay struct {
	Queue    QueueAPI
	QueueURL string
	Logger   *slog.Logger
}

// skip logs an outbox record that can never be delivered. It is passed
// over, not retried: a retry would hold every notice behind it in its
// stream shard for the stream's 24 hours.
func (r *Relay) skip(ctx context.Context, err error) {
	if r.Logger != nil {
		r.Logger.ErrorContext(ctx, "webhook relay: malformed outbox record skipped", "error", err.Error())
	}
}

// Send queues notices, ten per call; any notice not accepted fails the
// whole call, so the caller (the stream) retries them all: duplicates carry
// the same id and platforms drop them.
func (r *Relay) Send(ctx context.Context, notices []kyc.Notice) error {
	for start := 0; start < len(notices); start += 10 {
		batch := notices[start:min(start+10, len(notices))]
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(batch))
		for i, n := range batch {
			body, err := EncodeMessage(n)
			if err != nil {
				return err
			}
			entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		out, err := r.Queue.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(r.QueueURL), Entries: entries})
		if err != nil {
			return fmt.Errorf("webhooks: queue notices: %w", err)
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("webhooks: the queue refused %d of %d notices: %s", len(out.Failed), len(batch), aws.ToString(out.Failed[0].Message))
		}
	}
	return nil
}

// HandleStream is the Lambda handler for the outbox table's stream: each
// new outbox record is queued. An error makes Lambda retry the batch.
func (r *Relay) HandleStream(ctx context.Context, ev events.DynamoDBEvent) error {
	var notices []kyc.Notice
	for _, rec := range ev.Records {
		if n, ok := r.decode(ctx, rec.EventName, itemFromLambda(rec.Change.NewImage)); ok {
			notices = append(notices, n)
		}
	}
	return r.Send(ctx, notices)
}

// decode reads one record of the outbox stream (its event name and its new
// image in the table's form): the notice of an insert, or false for any
// other record, and for a malformed one, which is logged and skipped.
func (r *Relay) decode(ctx context.Context, event string, image map[string]dbtypes.AttributeValue) (kyc.Notice, bool) {
	n, err := outboxRecord(event, image)
	if errors.Is(err, errNotAnInsert) {
		return kyc.Notice{}, false
	}
	if err != nil {
		r.skip(ctx, err)
		return kyc.Notice{}, false
	}
	return n, true
}

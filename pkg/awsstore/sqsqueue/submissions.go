package sqsqueue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// The submission queue (SubmissionQueue in template.yaml) carries one
// message per submission job: {"verificationId": "Verification:…"}. The
// relay queues one for each complete verification the verifications
// table's stream adds; the worker runs the job of each (kyc.Submissions)
// and leaves a failed one in the queue, hidden for its backoff, until it
// succeeds or SQS moves it to the dead-letter queue (the queue's
// RedrivePolicy, maxReceiveCount). Both go through the same
// webhooks.Queue (Queue here) as the webhooks do.

// SubmissionMessage is a submission queue message's body: a submission
// job ({"verificationId"}) or a purge job ({"purgeCustomerId",
// "platformId"}: a customer gone for good, whose documents go too).
type SubmissionMessage struct {
	VerificationID  string `json:"verificationId,omitempty"`
	PurgeCustomerID string `json:"purgeCustomerId,omitempty"`
	PlatformID      string `json:"platformId,omitempty"`
	// OwnerIDs are a purged business's beneficial owners (their
	// documents go too).
	OwnerIDs []string `json:"ownerIds,omitempty"`
}

// Purge names a purge job: a customer of a platform, and a business's
// owners.
type Purge struct {
	PlatformID, CustomerID string
	OwnerIDs               []string
}

// EncodePurge is the message of p's purge job.
func EncodePurge(p Purge) []byte {
	b, _ := json.Marshal(SubmissionMessage{PurgeCustomerID: p.CustomerID, PlatformID: p.PlatformID, OwnerIDs: p.OwnerIDs}) // strings: cannot fail
	return b
}

// EncodeSubmission is the message of verification id's job.
func EncodeSubmission(id string) []byte {
	b, _ := json.Marshal(SubmissionMessage{VerificationID: id}) // a string field: cannot fail
	return b
}

// DecodeSubmission reads a submission job's verification id: a JSON
// object with a non-empty verificationId and nothing else.
func DecodeSubmission(body string) (string, error) {
	m, err := decodeMessage(body)
	if err != nil {
		return "", err
	}
	if m.VerificationID == "" || m.PurgeCustomerID != "" || m.PlatformID != "" {
		return "", errors.New("sqsqueue: not a submission message: no verificationId")
	}
	return m.VerificationID, nil
}

// decodeMessage reads either job's message.
func decodeMessage(body string) (SubmissionMessage, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	var m SubmissionMessage
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("sqsqueue: not a submission message: %w", err)
	}
	if dec.More() {
		return m, errors.New("sqsqueue: not a submission message: more after the object")
	}
	return m, nil
}

// SubmissionRelay queues the submission job of each complete verification
// the verifications table's stream adds.
type SubmissionRelay struct {
	Queue webhooks.Queue
	// Records decodes HandleStream's records: the verification id whose
	// job a record starts, if any (awsstore.SubmissionRecords).
	Records interface {
		LambdaRecord(rec events.DynamoDBEventRecord) (string, bool)
	}
	// Purges decodes HandlePurgeStream's records: the customer a record
	// removed for good and its owners, if any (awsstore.PurgeRecords).
	Purges interface {
		LambdaRecord(rec events.DynamoDBEventRecord) (platformID, customerID string, ownerIDs []string, ok bool)
	}
}

// Send queues the jobs of verifications ids. Any message the queue does
// not accept fails the whole call, so the caller (the stream) retries
// them all: a job that runs twice finds its verification marked (or the
// provider's steps repeat safely), so duplicates are harmless.
func (r *SubmissionRelay) Send(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	bodies := make([][]byte, len(ids))
	for i, id := range ids {
		bodies[i] = EncodeSubmission(id)
	}
	if err := r.Queue.Send(ctx, bodies); err != nil {
		return fmt.Errorf("submissions: queue %d jobs: %w", len(ids), err)
	}
	return nil
}

// SendPurges queues the purge jobs of purges, as Send does.
func (r *SubmissionRelay) SendPurges(ctx context.Context, purges []Purge) error {
	if len(purges) == 0 {
		return nil
	}
	bodies := make([][]byte, len(purges))
	for i, p := range purges {
		bodies[i] = EncodePurge(p)
	}
	if err := r.Queue.Send(ctx, bodies); err != nil {
		return fmt.Errorf("submissions: queue %d purge jobs: %w", len(purges), err)
	}
	return nil
}

// HandlePurgeStream is the Lambda handler for the customers table's
// stream: the purge job of each customer removed for good (the event
// source's filter passes only those; PurgeRecords checks again).
func (r *SubmissionRelay) HandlePurgeStream(ctx context.Context, ev events.DynamoDBEvent) error {
	var purges []Purge
	for _, rec := range ev.Records {
		if platform, customer, owners, ok := r.Purges.LambdaRecord(rec); ok {
			purges = append(purges, Purge{PlatformID: platform, CustomerID: customer, OwnerIDs: owners})
		}
	}
	return r.SendPurges(ctx, purges)
}

// HandleStream is the Lambda handler for the verifications table's
// stream: the job of each complete verification is queued. An error
// makes Lambda retry the batch (split in two each time, as the event
// source bisects), so no job is lost while its record is in the stream.
func (r *SubmissionRelay) HandleStream(ctx context.Context, ev events.DynamoDBEvent) error {
	var ids []string
	for _, rec := range ev.Records {
		if id, ok := r.Records.LambdaRecord(rec); ok {
			ids = append(ids, id)
		}
	}
	return r.Send(ctx, ids)
}

// Jobs runs one submission job (kyc.Submissions): an error is transient,
// the job runs again.
type Jobs interface {
	Submit(ctx context.Context, verificationID string) (kyc.SubmitOutcome, error)
	Purge(ctx context.Context, platformID, customerID string, ownerIDs []string) (kyc.SubmitOutcome, error)
}

// SubmissionWorker runs the submission queue's jobs: one attempt per
// receipt, then either the message is done (the job did what there was
// to do, or the message is no job at all) or it is hidden for the
// backoff and comes back for the next attempt, the queue's receive count
// being the attempt number. After the queue's maxReceiveCount receipts
// SQS moves it to the dead-letter queue.
type SubmissionWorker struct {
	Jobs  Jobs
	Queue webhooks.Queue
	// Backoff is the wait after a failed attempt: Base (30 s) doubling,
	// at most Max (15 min); RetryFor is unused (the queue's redrive
	// policy gives up).
	Backoff webhooks.Policy
	// Timeout bounds one job outside Lambda (Poll); under Lambda the
	// invocation's deadline less Reserve does.
	Timeout time.Duration
	// Reserve is kept back from Lambda's deadline to report a failed
	// job and hide its message for the backoff (more than the 3 s that
	// call may take).
	Reserve time.Duration
	// Concurrency bounds jobs in flight (at least 1).
	Concurrency int
	Logger      *slog.Logger
}

// maxVisibility is the longest SQS hides a message
// (ChangeMessageVisibility's limit).
const maxVisibility = 12 * time.Hour

// visibilityTimeout bounds the call that hides a failed job's message
// (keep Reserve above it).
const visibilityTimeout = 3 * time.Second

// OutcomeFailed is the outcome a job's log line carries when the attempt
// failed and the job runs again.
const OutcomeFailed = "failed"

// OutcomeUnreadable is the outcome of a message that is no submission
// job: acknowledged, never retried.
const OutcomeUnreadable = "unreadable"

// handle makes one attempt for a received message and reports whether
// the message is done. It logs one line per attempt (msg "submission"):
// the verification id, the outcome, the attempt, and for a failure the
// error, the failed dependency and when it runs again; never personal
// data (the job's errors carry none).
func (w *SubmissionWorker) handle(ctx context.Context, m webhooks.Received, jobCtx func() (context.Context, context.CancelFunc)) bool {
	attempt := max(m.Receives, 1)
	msg, err := decodeMessage(m.Body)
	id := msg.VerificationID
	if err == nil && (id == "") == (msg.PurgeCustomerID == "" || msg.PlatformID == "") {
		err = errors.New("sqsqueue: not a submission message: neither a verificationId nor a purgeCustomerId with its platformId")
	}
	if err != nil {
		// No attempt can ever run it: acknowledged, kept in the log.
		w.Logger.ErrorContext(ctx, "submission", "outcome", OutcomeUnreadable, "message_id", m.ID, "attempt", attempt,
			"body_bytes", len(m.Body), "error", err.Error())
		return true
	}
	jctx, cancel := jobCtx()
	var outcome kyc.SubmitOutcome
	field := "verification_id"
	if id != "" {
		outcome, err = w.Jobs.Submit(jctx, id)
	} else {
		id, field = msg.PurgeCustomerID, "purge_customer_id" // the log names the customer purged
		outcome, err = w.Jobs.Purge(jctx, msg.PlatformID, msg.PurgeCustomerID, msg.OwnerIDs)
	}
	cancel()
	if err == nil {
		w.Logger.InfoContext(ctx, "submission", field, id, "outcome", string(outcome), "attempt", attempt, "message_id", m.ID)
		return true
	}
	wait := min(w.Backoff.Backoff(attempt), maxVisibility)
	if m.Receipt != "" {
		// Bounded on its own, within the reserve: the job may have used
		// the invocation's time up to it.
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), visibilityTimeout)
		verr := w.Queue.ChangeVisibility(vctx, m.Receipt, wait)
		cancel()
		if verr != nil {
			// The queue's own visibility timeout brings it back instead.
			w.Logger.WarnContext(ctx, "submission: could not set the retry delay", field, id, "error", verr.Error())
		}
	}
	w.Logger.WarnContext(ctx, "submission", field, id, "outcome", OutcomeFailed, "attempt", attempt, "message_id", m.ID,
		"retry_in", wait.String(), "error", err.Error(), "dependency", string(kyc.AsError(err).Dependency))
	return false
}

// HandleSQS is the Lambda handler for the submission queue (with
// ReportBatchItemFailures): the batch's jobs run side by side (at most
// Concurrency), each until the invocation's deadline less Reserve; those
// not done are reported failed and return after their backoff.
func (w *SubmissionWorker) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	jobCtx := func() (context.Context, context.CancelFunc) {
		if d, ok := ctx.Deadline(); ok {
			return context.WithDeadline(ctx, d.Add(-w.Reserve))
		}
		return context.WithTimeout(ctx, w.Timeout)
	}
	return webhooks.HandleBatch(ev, w.Concurrency, func(m webhooks.Received) bool { return w.handle(ctx, m, jobCtx) }), nil
}

// Poll runs the worker against the queue outside Lambda (make dev), the
// same attempt as HandleSQS, until ctx ends: it receives at most as many
// messages as it has free slots (Concurrency), each hidden for Timeout
// and a minute more, runs each job within Timeout, and deletes the
// messages done, as Lambda's event source mapping does.
func (w *SubmissionWorker) Poll(ctx context.Context) {
	slots := make(chan struct{}, max(w.Concurrency, 1))
	var wg sync.WaitGroup
	defer wg.Wait()
	jobCtx := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, w.Timeout) }
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		// One slot taken; as many more as are free now (SQS receives at
		// most 10 at once).
		free := 1
	more:
		for free < min(cap(slots), 10) {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break more
			}
		}
		msgs, err := w.Queue.Receive(ctx, free, w.Timeout+time.Minute)
		msgs = msgs[:min(len(msgs), free)]
		for range free - len(msgs) {
			<-slots
		}
		if err != nil {
			if ctx.Err() == nil {
				w.Logger.WarnContext(ctx, "submission queue: receive failed", "error", err.Error())
				pause(ctx, time.Second)
			}
			continue
		}
		for _, m := range msgs {
			wg.Go(func() {
				defer func() { <-slots }()
				if !w.handle(ctx, m, jobCtx) {
					return
				}
				// Done is done even when shutting down: an undeleted
				// message runs its job again after a restart (harmless,
				// but needless).
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := w.Queue.Delete(dctx, m.Receipt); err != nil {
					w.Logger.WarnContext(ctx, "submission queue: delete failed; the job runs again and finds nothing to do", "error", err.Error())
				}
			})
		}
	}
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

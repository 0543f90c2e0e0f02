package webhooks

import (
	"context"
	"errors"
	"iter"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// ErrNotAnInsert is an outbox stream record that adds no outbox item (a
// TTL deletion, an update): nothing to relay, nothing to report.
var ErrNotAnInsert = errors.New("webhooks: not an outbox insert")

// OutboxDecoder reads the records of the outbox table's stream as Lambda
// hands them over. The item format is the store's (awsstore.OutboxRecords);
// the relay only needs the notice.
type OutboxDecoder interface {
	// LambdaRecord is the notice one record adds: ErrNotAnInsert when it
	// adds none, another error when it is malformed (no retry can deliver
	// it).
	LambdaRecord(rec events.DynamoDBEventRecord) (kyc.Notice, error)
}

// Relay moves new outbox notices to the queue.
type Relay struct {
	Queue Queue
	// Outbox decodes HandleStream's records (unused by Send).
	Outbox OutboxDecoder
	Logger *slog.Logger
}

// skip logs an outbox record that can never be delivered. It is passed
// over, not retried: a retry would hold every notice behind it in its
// stream shard for the stream's 24 hours.
func (r *Relay) skip(ctx context.Context, err error) {
	if r.Logger != nil {
		r.Logger.ErrorContext(ctx, "webhook relay: malformed outbox record skipped", "error", err.Error())
	}
}

// Send queues notices as Messages; any notice not accepted fails the whole
// call, so the caller (the stream) retries them all: duplicates carry the
// same id and platforms drop them.
func (r *Relay) Send(ctx context.Context, notices []kyc.Notice) error {
	if len(notices) == 0 {
		return nil
	}
	bodies := make([][]byte, len(notices))
	for i, n := range notices {
		body, err := EncodeMessage(n)
		if err != nil {
			return err
		}
		bodies[i] = body
	}
	return r.Queue.Send(ctx, bodies)
}

// HandleStream is the Lambda handler for the outbox table's stream: each
// new outbox record is queued. An error makes Lambda retry the batch. (Its
// event is aws-lambda-go's type because the Lambda runtime decodes the
// invocation into the handler's argument.)
func (r *Relay) HandleStream(ctx context.Context, ev events.DynamoDBEvent) error {
	return r.SendRecords(ctx, func(yield func(kyc.Notice, error) bool) {
		for _, rec := range ev.Records {
			if !yield(r.Outbox.LambdaRecord(rec)) {
				return
			}
		}
	})
}

// SendRecords queues the notices of a batch of outbox stream records,
// each as its reader decoded it (HandleStream's, or the local stream
// poller's): a record that adds no notice (ErrNotAnInsert) is passed
// over, a malformed one is logged and skipped, and the rest are sent.
func (r *Relay) SendRecords(ctx context.Context, records iter.Seq2[kyc.Notice, error]) error {
	var notices []kyc.Notice
	for n, err := range records {
		switch {
		case errors.Is(err, ErrNotAnInsert):
		case err != nil:
			r.skip(ctx, err)
		default:
			notices = append(notices, n)
		}
	}
	return r.Send(ctx, notices)
}

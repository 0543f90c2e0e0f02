package webhooks

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Relay moves new outbox notices to the queue.
type Relay struct {
	Queue  Queue
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

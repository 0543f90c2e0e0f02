// Package sqsqueue is the service's SQS queues: the webhook delivery
// queue, and the submission queue with its relay (the verifications
// stream's complete verifications in) and worker (each job run, retried
// with backoff: submissions.go). Only the relay, delivery and
// verification-submit functions link it (its own package, so no other
// function's build imports SQS: pkg/app/clients.go).
package sqsqueue

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// QueueAPI is the SQS calls the webhook queue makes.
type QueueAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Queue is a queue in SQS: the relay sends to it; the local worker
// receives from it (under Lambda the event source mapping receives and
// deletes). The messages are as given (the webhook queue's are
// webhooks.EncodeMessage's, the submission queue's EncodeSubmission's).
// Receive, ChangeVisibility and Delete return the SDK's errors, which name
// the call; the worker logs them.
type Queue struct {
	Client QueueAPI
	URL    string
}

var _ webhooks.Queue = (*Queue)(nil)

const (
	// sendBatch is SQS's limit on messages per SendMessageBatch.
	sendBatch = 10
	// receiveWait is how long a receive waits for a message (long
	// polling): an idle local worker makes one call a second.
	receiveWait = time.Second
)

// Send queues bodies, ten per call; any message not accepted fails the
// whole call (see webhooks.Queue).
func (q *Queue) Send(ctx context.Context, bodies [][]byte) error {
	for start := 0; start < len(bodies); start += sendBatch {
		batch := bodies[start:min(start+sendBatch, len(bodies))]
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(batch))
		for i, b := range batch {
			entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(b))}
		}
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			return fmt.Errorf("webhooks: queue notices: %w", err)
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("webhooks: the queue refused %d of %d notices: %s", len(out.Failed), len(batch), aws.ToString(out.Failed[0].Message))
		}
	}
	return nil
}

// Receive waits up to receiveWait for at most limit messages (SQS allows
// 1 to 10) and hides each for visibility, in whole seconds.
func (q *Queue) Receive(ctx context.Context, limit int, visibility time.Duration) ([]webhooks.Received, error) {
	out, err := q.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.URL), MaxNumberOfMessages: int32(limit), WaitTimeSeconds: int32(receiveWait / time.Second),
		VisibilityTimeout:           int32(visibility / time.Second),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, err
	}
	msgs := make([]webhooks.Received, len(out.Messages))
	for i, m := range out.Messages {
		// Missing or unreadable, it reads as 0; the worker counts that as
		// the first attempt.
		receives, _ := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
		msgs[i] = webhooks.Received{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body),
			Receipt: aws.ToString(m.ReceiptHandle), Receives: receives}
	}
	return msgs, nil
}

// ChangeVisibility hides a received message for d from now, in whole
// seconds (SQS allows up to 12 hours).
func (q *Queue) ChangeVisibility(ctx context.Context, receipt string, d time.Duration) error {
	_, err := q.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String(receipt), VisibilityTimeout: int32(d / time.Second)})
	return err
}

// Delete removes a received message.
func (q *Queue) Delete(ctx context.Context, receipt string) error {
	_, err := q.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String(receipt)})
	return err
}

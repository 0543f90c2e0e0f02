package sqsqueue_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grid-kyc/kyc-link/pkg/awsstore/sqsqueue"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// recordingSQS records the queue's calls and answers them from its fields.
type recordingSQS struct {
	sends    []*sqs.SendMessageBatchInput
	failSend error                             // SendMessageBatch fails with it
	failed   []sqstypes.BatchResultErrorEntry  // SendMessageBatch reports these refused
	receive  *sqs.ReceiveMessageInput          // the last ReceiveMessage
	messages []sqstypes.Message                // ReceiveMessage returns these
	changed  *sqs.ChangeMessageVisibilityInput // the last ChangeMessageVisibility
	deleted  *sqs.DeleteMessageInput           // the last DeleteMessage
	err      error                             // ReceiveMessage, ChangeMessageVisibility and DeleteMessage fail with it
}

var _ sqsqueue.QueueAPI = (*recordingSQS)(nil)

func (r *recordingSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	r.sends = append(r.sends, in)
	if r.failSend != nil {
		return nil, r.failSend
	}
	return &sqs.SendMessageBatchOutput{Failed: r.failed}, nil
}

func (r *recordingSQS) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	r.receive = in
	if r.err != nil {
		return nil, r.err
	}
	return &sqs.ReceiveMessageOutput{Messages: r.messages}, nil
}

func (r *recordingSQS) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	r.changed = in
	return &sqs.ChangeMessageVisibilityOutput{}, r.err
}

func (r *recordingSQS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	r.deleted = in
	return &sqs.DeleteMessageOutput{}, r.err
}

// sqsOpts compares the SDK's inputs by their fields.
var sqsOpts = cmpopts.IgnoreUnexported(sqs.SendMessageBatchInput{}, sqstypes.SendMessageBatchRequestEntry{}, sqs.ReceiveMessageInput{},
	sqs.ChangeMessageVisibilityInput{}, sqs.DeleteMessageInput{})

func bodies(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"id":"Webhook:%d"}`, i)
	}
	return out
}

// TestQueueSendsTenPerCall: messages go out as they are, in SQS's batches
// of ten, each entry numbered within its batch.
func TestQueueSendsTenPerCall(t *testing.T) {
	for _, count := range []int{0, 1, 10, 23} {
		t.Run(fmt.Sprint(count), func(t *testing.T) {
			c := &recordingSQS{}
			msgs := bodies(count)
			if err := (&sqsqueue.Queue{Client: c, URL: "https://sqs/queue"}).Send(context.Background(), msgs); err != nil {
				t.Fatal(err)
			}
			var want []*sqs.SendMessageBatchInput
			for start := 0; start < count; start += 10 {
				in := &sqs.SendMessageBatchInput{QueueUrl: aws.String("https://sqs/queue")}
				for i, b := range msgs[start:min(start+10, count)] {
					in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(string(b))})
				}
				want = append(want, in)
			}
			if diff := cmp.Diff(want, c.sends, sqsOpts); diff != "" {
				t.Errorf("SendMessageBatch calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestQueueSendFailsWhole: a call that fails, or a message the queue
// refuses, fails the whole send at that batch (the caller sends all
// again), saying why.
func TestQueueSendFailsWhole(t *testing.T) {
	down := errors.New("connection refused")
	for _, tc := range []struct {
		name  string
		c     *recordingSQS
		want  string
		cause error
	}{
		{"call fails", &recordingSQS{failSend: down}, "webhooks: queue notices: connection refused", down},
		{"message refused", &recordingSQS{failed: []sqstypes.BatchResultErrorEntry{{Id: aws.String("3"), Message: aws.String("too big")}}},
			"webhooks: the queue refused 1 of 10 notices: too big", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&sqsqueue.Queue{Client: tc.c, URL: "q"}).Send(context.Background(), bodies(25))
			if err == nil || err.Error() != tc.want || (tc.cause != nil && !errors.Is(err, tc.cause)) {
				t.Fatalf("Send = %v; want %q", err, tc.want)
			}
			if len(tc.c.sends) != 1 {
				t.Errorf("%d calls; want the first batch's only", len(tc.c.sends))
			}
		})
	}
}

// TestQueueReceives: a receive long-polls a second for at most limit
// messages, hides them for the visibility asked (whole seconds), and asks
// for the receive count, which becomes the attempt number (0, read as a
// first attempt by the worker, when missing or unreadable).
func TestQueueReceives(t *testing.T) {
	c := &recordingSQS{messages: []sqstypes.Message{
		{MessageId: aws.String("m1"), Body: aws.String("b1"), ReceiptHandle: aws.String("r1"), Attributes: map[string]string{"ApproximateReceiveCount": "3"}},
		{MessageId: aws.String("m2"), Body: aws.String("b2"), ReceiptHandle: aws.String("r2")},
		{MessageId: aws.String("m3"), Body: aws.String("b3"), ReceiptHandle: aws.String("r3"), Attributes: map[string]string{"ApproximateReceiveCount": "x"}},
	}}
	q := &sqsqueue.Queue{Client: c, URL: "q"}
	got, err := q.Receive(context.Background(), 7, 40*time.Second+500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := []webhooks.Received{{ID: "m1", Body: "b1", Receipt: "r1", Receives: 3}, {ID: "m2", Body: "b2", Receipt: "r2"}, {ID: "m3", Body: "b3", Receipt: "r3"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
	wantIn := &sqs.ReceiveMessageInput{QueueUrl: aws.String("q"), MaxNumberOfMessages: 7, WaitTimeSeconds: 1, VisibilityTimeout: 40,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}}
	if diff := cmp.Diff(wantIn, c.receive, sqsOpts); diff != "" {
		t.Errorf("ReceiveMessage input (-want +got):\n%s", diff)
	}
}

// TestQueueHidesAndDeletesByReceipt: ChangeVisibility and Delete name the
// receipt; a failure comes back as the SDK's error, which the worker logs.
func TestQueueHidesAndDeletesByReceipt(t *testing.T) {
	c := &recordingSQS{}
	q := &sqsqueue.Queue{Client: c, URL: "q"}
	ctx := context.Background()
	if err := q.ChangeVisibility(ctx, "r1", 12*time.Hour); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String("q"), ReceiptHandle: aws.String("r1"), VisibilityTimeout: 43200},
		c.changed, sqsOpts); diff != "" {
		t.Errorf("ChangeMessageVisibility input (-want +got):\n%s", diff)
	}
	if err := q.Delete(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&sqs.DeleteMessageInput{QueueUrl: aws.String("q"), ReceiptHandle: aws.String("r2")}, c.deleted, sqsOpts); diff != "" {
		t.Errorf("DeleteMessage input (-want +got):\n%s", diff)
	}
	c.err = errors.New("receipt handle is invalid")
	for name, err := range map[string]error{
		"ChangeVisibility": q.ChangeVisibility(ctx, "r1", time.Second),
		"Delete":           q.Delete(ctx, "r1"),
	} {
		if !errors.Is(err, c.err) {
			t.Errorf("%s = %v; want the SDK's error", name, err)
		}
	}
	if _, err := q.Receive(ctx, 1, time.Second); !errors.Is(err, c.err) {
		t.Errorf("Receive = %v; want the SDK's error", err)
	}
}

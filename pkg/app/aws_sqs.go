//go:build !lambda_link && !lambda_platform && !lambda_receiver

package app

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/awsstore/sqsqueue"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// newQueues are the delivery queue and the submission queue, on one SQS
// client.
func newQueues(c aws.Config, cfg Config) (delivery, submission webhooks.Queue) {
	client := sqs.NewFromConfig(c)
	return &sqsqueue.Queue{Client: client, URL: cfg.WebhookQueueURL}, &sqsqueue.Queue{Client: client, URL: cfg.SubmissionQueueURL}
}

// The submission's pipeline on AWS (docs/reliability.md, "Submission to
// the provider"): the verifications table's stream → the relay → the
// submission queue → the worker, which runs each job.
const (
	// submissionMaxBackoff caps the wait between a job's attempts.
	submissionMaxBackoff = 15 * time.Minute
	// submissionJobTimeout bounds one job outside Lambda (under Lambda,
	// the invocation's deadline does: the function's Timeout).
	submissionJobTimeout = 2 * time.Minute
	// submissionReserve is kept back from Lambda's deadline to hide a
	// failed job's message for its backoff.
	submissionReserve = 5 * time.Second
	// submissionConcurrency bounds jobs in flight in one process (the
	// event source hands the function one message at a time).
	submissionConcurrency = 4
)

// submissionRelay queues the job of each complete verification the
// verifications table's stream adds: its Lambda handler (the relay
// function's second event source) and the local poller's loop.
func (r *root) submissionRelay() (handle, purges func(context.Context, events.DynamoDBEvent) error, poll func(context.Context)) {
	relay := &sqsqueue.SubmissionRelay{Queue: r.stores.submissionQueue, Records: awsstore.SubmissionRecords{}, Purges: awsstore.PurgeRecords{}}
	poller := &awsstore.StreamPoller{Streams: r.stores.streams, Tables: r.stores.dynamodb, Table: r.cfg.VerificationsTable,
		Submissions: relay.Send, Interval: 250 * time.Millisecond, Logger: r.logger}
	return relay.HandleStream, relay.HandlePurgeStream, poller.Poll
}

// submissionWorker runs the submission queue's jobs with jobs: its Lambda
// handler and the local worker's loop. A failed job's message comes back
// after SUBMISSION_RETRY_BASE (30 s), doubling, at most 15 minutes apart,
// until the queue's redrive policy moves it to the dead-letter queue.
func (r *root) submissionWorker(jobs *kyc.Submissions) (handle func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), poll func(context.Context)) {
	w := &sqsqueue.SubmissionWorker{Jobs: jobs, Queue: r.stores.submissionQueue,
		Backoff: webhooks.Policy{Base: r.cfg.SubmissionRetryBase, Max: submissionMaxBackoff},
		Timeout: submissionJobTimeout, Reserve: submissionReserve, Concurrency: submissionConcurrency, Logger: r.logger}
	return w.HandleSQS, w.Poll
}

//go:build lambda_link || lambda_platform || lambda_receiver

package app

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// newQueues: this function's build has no SQS client (clients.go).
func newQueues(aws.Config, Config) (delivery, submission webhooks.Queue) { return nil, nil }

// submissionRelay and submissionWorker: this function's build has no SQS
// client, so no submission pipeline (Build stops before: root.lacks).
func (r *root) submissionRelay() (func(context.Context, events.DynamoDBEvent) error, func(context.Context, events.DynamoDBEvent) error, func(context.Context)) {
	return nil, nil, nil
}

func (r *root) submissionWorker(*kyc.Submissions) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), func(context.Context)) {
	return nil, nil
}

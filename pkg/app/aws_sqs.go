//go:build !lambda_link && !lambda_platform && !lambda_receiver

package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/grid-kyc/kyc-link/pkg/webhooks"

	"github.com/grid-kyc/kyc-link/pkg/awsstore/sqsqueue"
)

// newQueue is the delivery queue.
func newQueue(c aws.Config, cfg Config) webhooks.Queue {
	return &sqsqueue.Queue{Client: sqs.NewFromConfig(c), URL: cfg.WebhookQueueURL}
}

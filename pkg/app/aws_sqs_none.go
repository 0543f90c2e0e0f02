//go:build lambda_link || lambda_platform || lambda_receiver

package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// newQueue: this function's build has no SQS client (clients.go).
func newQueue(aws.Config, Config) webhooks.Queue { return nil }

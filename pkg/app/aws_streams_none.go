//go:build lambda_link || lambda_platform || lambda_receiver || lambda_relay || lambda_delivery || lambda_submit

package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
)

// newStreams: Lambda builds have no local relay (clients.go).
func newStreams(aws.Config) awsstore.StreamsAPI { return nil }

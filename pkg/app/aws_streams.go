//go:build !lambda_link && !lambda_platform && !lambda_receiver && !lambda_relay && !lambda_delivery && !lambda_submit

package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
)

// newStreams reads the outbox's stream for the local relay (Lambda's event
// source mapping reads it under Lambda).
func newStreams(c aws.Config) awsstore.StreamsAPI { return dynamodbstreams.NewFromConfig(c) }

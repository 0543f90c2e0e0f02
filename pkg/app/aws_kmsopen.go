//go:build !lambda_link && !lambda_platform && !lambda_receiver && !lambda_relay && !lambda_delivery

package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/grid-kyc/kyc-link/pkg/awsstore/kmsseal"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// newOpener opens identifiers and tax ids with the customer data key, for
// the submission to the provider (the one reader: the key's policy lets
// the submission function's role alone Decrypt).
func newOpener(c aws.Config, cfg Config) kyc.Opener {
	return &kmsseal.KMSOpener{Client: kms.NewFromConfig(c), KeyID: cfg.CustomerDataKeyID}
}

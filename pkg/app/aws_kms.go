//go:build !lambda_link && !lambda_receiver && !lambda_relay && !lambda_delivery && !lambda_submit

package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/grid-kyc/kyc-link/pkg/awsstore/kmsseal"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// newSealer seals identifiers and tax ids with the customer data key.
func newSealer(c aws.Config, cfg Config) kyc.Sealer {
	return &kmsseal.KMSSealer{Client: kms.NewFromConfig(c), KeyID: cfg.CustomerDataKeyID}
}

//go:build lambda_link || lambda_receiver || lambda_relay || lambda_delivery || lambda_submit

package app

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// newSealer: this function's build seals nothing, so it has no Encrypt
// (clients.go; the submission function's KMS client only opens).
func newSealer(aws.Config, Config) kyc.Sealer { return unbuiltSealer{} }

type unbuiltSealer struct{}

func (unbuiltSealer) Seal(context.Context, []byte, string, string) ([]byte, error) {
	return nil, kyc.Misconfigured(kyc.DepKeys, errors.New("this function's build does not seal (pkg/app/clients.go)"))
}

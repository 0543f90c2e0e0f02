//go:build lambda_link || lambda_platform || lambda_receiver || lambda_relay || lambda_delivery

package app

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// newOpener: this function's build opens nothing (clients.go): only the
// submission to the provider reads identifiers and tax ids.
func newOpener(aws.Config, Config) kyc.Opener { return unbuiltOpener{} }

type unbuiltOpener struct{}

func (unbuiltOpener) Unseal(context.Context, []byte, string, string) ([]byte, error) {
	return nil, kyc.Misconfigured(kyc.DepKeys, errors.New("this function's build does not open sealed data (pkg/app/clients.go)"))
}

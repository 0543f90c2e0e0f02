//go:build lambda_link || lambda_receiver || lambda_relay || lambda_delivery

package app

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// newFiles: this function's build has no S3 client (clients.go); it
// never keeps documents.
func newFiles(aws.Config, Config) (kyc.DocumentFiles, presigner) {
	return unbuiltFiles{}, unbuiltFiles{}
}

type unbuiltFiles struct{}

var errNoS3 = errors.New("this function's build has no S3 client (pkg/app/clients.go)")

func (unbuiltFiles) PutFile(context.Context, string, string, []byte) error {
	return kyc.Misconfigured(kyc.DepStore, errNoS3)
}

func (unbuiltFiles) ReadFile(context.Context, string) ([]byte, error) {
	return nil, kyc.Misconfigured(kyc.DepStore, errNoS3)
}

func (unbuiltFiles) DeleteFile(context.Context, string) error {
	return kyc.Misconfigured(kyc.DepStore, errNoS3)
}

func (unbuiltFiles) PresignPost(context.Context, string, int64, time.Duration) (string, map[string]string, error) {
	return "", nil, kyc.Misconfigured(kyc.DepStore, errNoS3)
}

func (unbuiltFiles) Head(context.Context, string) (int64, error) {
	return 0, kyc.Misconfigured(kyc.DepStore, errNoS3)
}

func (unbuiltFiles) ReadHead(context.Context, string, int) ([]byte, error) {
	return nil, kyc.Misconfigured(kyc.DepStore, errNoS3)
}

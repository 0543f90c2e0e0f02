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
func newFiles(aws.Config, Config) (kyc.DocumentFiles, kyc.DirectFiles) {
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

func (unbuiltFiles) PresignUpload(context.Context, string, int64, time.Time) (string, map[string]string, error) {
	return "", nil, kyc.Misconfigured(kyc.DepStore, errNoS3)
}

func (unbuiltFiles) Stat(context.Context, string, int) (int64, []byte, bool, error) {
	return 0, nil, false, kyc.Misconfigured(kyc.DepStore, errNoS3)
}

func (unbuiltFiles) Copy(context.Context, string, string, string) error {
	return kyc.Misconfigured(kyc.DepStore, errNoS3)
}

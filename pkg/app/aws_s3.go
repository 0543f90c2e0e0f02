//go:build !lambda_link && !lambda_receiver && !lambda_relay && !lambda_delivery

package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/grid-kyc/kyc-link/pkg/awsstore/s3files"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// newFiles keeps documents' files in the documents bucket, which also
// hands out the direct uploads' presigned POSTs.
func newFiles(c aws.Config, cfg Config) (kyc.DocumentFiles, kyc.DirectFiles) {
	f := &s3files.Files{Client: s3.NewFromConfig(c), Bucket: cfg.DocumentsBucket}
	return f, f
}

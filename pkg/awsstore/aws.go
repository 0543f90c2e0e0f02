// Package awsstore holds the service's AWS implementations (DynamoDB
// stores, Secrets Manager) and the one place that reads AWS's errors: each
// failure leaves here as a *kyc.Error that names its dependency and says
// whether it is permanent (our configuration: 500) or transient (an outage:
// 503 with a retry hint). Grid's SDKs retry every 503, so a
// misconfiguration answered as 503 becomes a retry storm that looks like
// someone else's outage.
package awsstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// permanentCodes are AWS error codes that retrying cannot fix: a table or
// secret that does not exist, a request that does not fit the table (wrong
// key schema), permissions, credentials and KMS keys.
var permanentCodes = map[string]bool{
	"ResourceNotFoundException":           true,
	"ValidationException":                 true,
	"AccessDeniedException":               true,
	"AccessDenied":                        true,
	"UnrecognizedClientException":         true,
	"InvalidSignatureException":           true,
	"MissingAuthenticationTokenException": true,
	"ExpiredTokenException":               true,
	"InvalidClientTokenId":                true,
	"DecryptionFailure":                   true, // Secrets Manager could not decrypt with the KMS key
	"KMSAccessDeniedException":            true,
	"KMSDisabledException":                true,
	"KMSNotFoundException":                true,
	"KMSInvalidStateException":            true,
	"InvalidRequestException":             true, // e.g. a secret marked for deletion
}

// ErrNoCredentials marks a failure to find AWS credentials: the process is
// misconfigured. (The SDK's own error is untyped text.)
var ErrNoCredentials = errors.New("no usable AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with a role")

// Credentials wraps p so that its failures wrap ErrNoCredentials, except a
// caller's deadline or cancellation running out while it waits (a slow
// credentials endpoint is an outage).
func Credentials(p aws.CredentialsProvider) aws.CredentialsProvider {
	return credentials{p}
}

type credentials struct{ aws.CredentialsProvider }

func (c credentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.CredentialsProvider.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return creds, fmt.Errorf("%w: %w", ErrNoCredentials, err)
	}
	return creds, err
}

// Permanent reports whether err, from an AWS call, is a fault retrying
// cannot fix.
func Permanent(err error) bool {
	if errors.Is(err, ErrNoCredentials) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && permanentCodes[api.ErrorCode()]
}

// fault is the answer for an AWS call's failure: kyc.Misconfigured when
// it is permanent (the cause, logged, names the resource), else
// kyc.Unavailable with message and a retry hint of a second.
func fault(dep kyc.Dependency, message string, err error) *kyc.Error {
	return kyc.Outage(dep, Permanent(err), message, time.Second, err)
}

// LoadConfig is the AWS configuration every client of the service is made
// from: the SDK's default chain (environment, profile, role), a region
// required now rather than failing every request, missing credentials
// marked as our misconfiguration, the SDK's own warnings in logger's JSON
// log, and apiOptions (tracing) on every call.
func LoadConfig(ctx context.Context, logger *slog.Logger, apiOptions ...func(*middleware.Stack) error) (aws.Config, error) {
	c, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if c.Region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set: the aws backend needs a region (set AWS_REGION, or a region in the AWS profile)")
	}
	c.Credentials = Credentials(c.Credentials)
	c.Logger = sdkLogger{logger: logger}
	c.APIOptions = append(c.APIOptions, apiOptions...)
	return c, nil
}

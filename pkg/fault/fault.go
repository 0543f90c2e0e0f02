// Package fault tells a dependency's permanent faults (our configuration:
// retrying cannot help) from transient ones (an outage: retrying later
// can), and turns each into the answer the caller should get: 500 for the
// first, 503 with a retry hint for the second. Grid's SDKs retry every 503,
// so a misconfiguration answered as 503 becomes a retry storm that looks
// like someone else's outage.
package fault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
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

// Permanent reports whether err is a fault retrying cannot fix.
func Permanent(err error) bool {
	if errors.Is(err, secrets.ErrNotFound) || errors.Is(err, secrets.ErrFormat) || errors.Is(err, ErrNoCredentials) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && permanentCodes[api.ErrorCode()]
}

// Outage is the caller's answer for a dependency's failure: 500 when it is
// permanent (the cause, logged, names the resource), else 503 with
// message and retryAfter.
func Outage(message string, retryAfter time.Duration, err error) *kyc.Error {
	if Permanent(err) {
		return kyc.Internal(err)
	}
	return kyc.Unavailable(message, retryAfter, err)
}

// Package kmsseal seals customers' write-only data (identifiers, tax ids)
// with KMS, and opens it for the one reader there is: the submission to
// the provider. Only the platform function (which seals) and the
// verification-submit function (which opens) link it (its own package,
// so no other function's build imports KMS: pkg/app/clients.go).
package kmsseal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// EncryptAPI is the one KMS call the sealer makes (IAM: kms:Encrypt on
// the key, with the encryption context keys customerId and platformId).
type EncryptAPI interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error)
}

// DefaultCustomerDataKeyID is the KMS key the sealer uses
// (CUSTOMER_DATA_KEY_ID).
const DefaultCustomerDataKeyID = "alias/kyc-link-customer-data"

// KMSSealer seals write-only customer data with KMS Encrypt under KeyID,
// with the encryption context {customerId, platformId}: the ciphertext
// opens (kms:Decrypt, which the key's policy grants the submission
// function's role alone) only with that context, and CloudTrail records
// it with every use.
type KMSSealer struct {
	Client EncryptAPI
	KeyID  string
}

var _ kyc.Sealer = (*KMSSealer)(nil)

func (k *KMSSealer) Seal(ctx context.Context, plaintext []byte, customerID, platformID string) ([]byte, error) {
	key := k.KeyID
	if key == "" {
		key = DefaultCustomerDataKeyID
	}
	out, err := k.Client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: plaintext,
		EncryptionContext: map[string]string{"customerId": customerID, "platformId": platformID}})
	if err != nil {
		return nil, kmsFault(fmt.Errorf("encrypt customer data with KMS key %s: %w", key, err))
	}
	return out.CiphertextBlob, nil
}

// DecryptAPI is the one KMS call the opener makes (kms:Decrypt, granted
// by the key's own policy to the submission function's role, only with
// the encryption context keys customerId and platformId).
type DecryptAPI interface {
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMSOpener opens what KMSSealer sealed (kyc.Opener): KMS Decrypt under
// KeyID (a ciphertext of another key is refused, IncorrectKeyException)
// with the same encryption context {customerId, platformId}, so a
// ciphertext opens only for the customer and platform it was sealed for.
type KMSOpener struct {
	Client DecryptAPI
	KeyID  string
}

var _ kyc.Opener = (*KMSOpener)(nil)

func (k *KMSOpener) Unseal(ctx context.Context, ciphertext []byte, customerID, platformID string) ([]byte, error) {
	key := k.KeyID
	if key == "" {
		key = DefaultCustomerDataKeyID
	}
	out, err := k.Client.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(key), CiphertextBlob: ciphertext,
		EncryptionContext: map[string]string{"customerId": customerID, "platformId": platformID}})
	if err != nil {
		return nil, kmsFault(fmt.Errorf("decrypt customer data with KMS key %s: %w", key, err))
	}
	return out.Plaintext, nil
}

// kmsPermanent are KMS error codes retrying cannot fix: the key is
// missing, disabled, pending deletion, of the wrong kind, or ours to use
// not (pkg/fault knows the generic ones: access, validation, credentials).
var kmsPermanent = map[string]bool{
	"NotFoundException":             true,
	"DisabledException":             true,
	"KMSInvalidStateException":      true,
	"InvalidKeyUsageException":      true,
	"IncorrectKeyException":         true,
	"InvalidArnException":           true,
	"InvalidGrantTokenException":    true,
	"UnsupportedOperationException": true,
	"DryRunOperationException":      true,
	// A ciphertext that does not open under the key and context given:
	// sealed for another customer, or not by this key.
	"InvalidCiphertextException": true,
}

// kmsFault is 500 for our misconfiguration, else 503 with a retry hint
// (KeyUnavailable, DependencyTimeout, KMSInternal, throttling, the
// network).
func kmsFault(err error) *kyc.Error {
	var api smithy.APIError
	if errors.As(err, &api) && kmsPermanent[api.ErrorCode()] {
		return kyc.Misconfigured(kyc.DepKeys, err)
	}
	return kyc.Outage(kyc.DepKeys, awsstore.Permanent(err), "The key service is temporarily unavailable.", time.Second, err)
}

package kmsseal

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

func TestKMSFaults(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want kyc.Code
	}{
		{&kmstypes.NotFoundException{Message: aws.String("alias/x is not found")}, kyc.CodeInternal},
		{&kmstypes.DisabledException{}, kyc.CodeInternal},
		{&kmstypes.KMSInvalidStateException{}, kyc.CodeInternal},
		{&kmstypes.InvalidKeyUsageException{}, kyc.CodeInternal},
		{&smithy.GenericAPIError{Code: "AccessDeniedException"}, kyc.CodeInternal},
		{&kmstypes.KeyUnavailableException{}, kyc.CodeUnavailable},
		{&kmstypes.DependencyTimeoutException{}, kyc.CodeUnavailable},
		{&kmstypes.KMSInternalException{}, kyc.CodeUnavailable},
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, kyc.CodeUnavailable},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, kyc.CodeUnavailable},
	} {
		e := kmsFault(tc.err)
		if e.Code != tc.want || (tc.want == kyc.CodeUnavailable) != (e.RetryAfter > 0) {
			t.Errorf("kmsFault(%T) = %s, retry %v; want %s", tc.err, e.Code, e.RetryAfter, tc.want)
		}
	}
}

// decryptOnce records the Decrypt call and answers it.
type decryptOnce struct {
	in  *kms.DecryptInput
	out []byte
	err error
}

func (d *decryptOnce) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	d.in = in
	if d.err != nil {
		return nil, d.err
	}
	return &kms.DecryptOutput{Plaintext: d.out}, nil
}

// TestOpenerDecryptsUnderTheSealingContext: Unseal asks KMS to decrypt
// under the configured key (the default alias without one) and exactly
// the context Seal encrypts under; a ciphertext that does not open under
// it is our misconfiguration (500), an outage of the key service 503.
func TestOpenerDecryptsUnderTheSealingContext(t *testing.T) {
	d := &decryptOnce{out: []byte("123-45-6789")}
	got, err := (&KMSOpener{Client: d}).Unseal(context.Background(), []byte("sealed"), "Customer:c", "p")
	if err != nil || string(got) != "123-45-6789" {
		t.Fatalf("Unseal = %q, %v", got, err)
	}
	if aws.ToString(d.in.KeyId) != DefaultCustomerDataKeyID || string(d.in.CiphertextBlob) != "sealed" ||
		len(d.in.EncryptionContext) != 2 || d.in.EncryptionContext["customerId"] != "Customer:c" || d.in.EncryptionContext["platformId"] != "p" {
		t.Errorf("Decrypt(%+v); want the default key, the ciphertext and the context {customerId, platformId}", d.in)
	}
	for _, tc := range []struct {
		err  error
		want kyc.Code
	}{
		{&kmstypes.InvalidCiphertextException{}, kyc.CodeInternal},
		{&kmstypes.IncorrectKeyException{}, kyc.CodeInternal},
		{&smithy.GenericAPIError{Code: "AccessDeniedException"}, kyc.CodeInternal},
		{&kmstypes.KMSInternalException{}, kyc.CodeUnavailable},
	} {
		_, err := (&KMSOpener{Client: &decryptOnce{err: tc.err}, KeyID: "alias/k"}).Unseal(context.Background(), []byte("x"), "c", "p")
		if e := kyc.AsError(err); e.Code != tc.want || e.Dependency != kyc.DepKeys {
			t.Errorf("Unseal with %T = %v; want %s naming the key service", tc.err, err, tc.want)
		}
	}
}

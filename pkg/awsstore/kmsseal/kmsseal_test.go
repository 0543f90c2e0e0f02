package kmsseal

import (
	"errors"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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

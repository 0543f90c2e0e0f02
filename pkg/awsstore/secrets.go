package awsstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
)

// SecretsManagerAPI is the one call we make, so tests can wrap it.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretsManager is a secrets.Source backed by AWS Secrets Manager.
type SecretsManager struct {
	Client SecretsManagerAPI
}

var _ secrets.Source = (*SecretsManager)(nil)

func (s *SecretsManager) SecretString(ctx context.Context, id string) (string, error) {
	out, err := s.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return "", kyc.Misconfigured(kyc.DepSecrets, fmt.Errorf("secret %q: %w", id, secrets.ErrNotFound))
		}
		return "", fault(kyc.DepSecrets, "The secrets store is temporarily unavailable.", fmt.Errorf("get secret %q: %w", id, err))
	}
	if out.SecretString == nil {
		return "", kyc.Misconfigured(kyc.DepSecrets, fmt.Errorf("secret %q has no SecretString (binary secrets are not supported)", id))
	}
	return *out.SecretString, nil
}

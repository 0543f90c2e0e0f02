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

// SecretsManagerAPI is the calls we make, so tests can wrap them.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error)
}

// SecretsManager is a secrets.Source backed by AWS Secrets Manager.
type SecretsManager struct {
	Client SecretsManagerAPI
}

var (
	_ secrets.Source      = (*SecretsManager)(nil)
	_ secrets.BatchSource = (*SecretsManager)(nil)
)

// maxBatch is how many ids BatchGetSecretValue takes in one call.
const maxBatch = 20

// SecretStrings reads ids in one BatchGetSecretValue call each 20: the
// secrets a function needs at start-up for the price of one round trip
// (and one API call). An id is found by the ARN or the name Secrets
// Manager answers with; what it could not read (an error of its own,
// binary) is left out, for the caller to read alone and meet its error.
func (s *SecretsManager) SecretStrings(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxBatch)]
		ids = ids[len(chunk):]
		res, err := s.Client.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: chunk})
		if err != nil {
			return out, fault(kyc.DepSecrets, "The secrets store is temporarily unavailable.", fmt.Errorf("batch get %d secrets: %w", len(chunk), err))
		}
		for _, v := range res.SecretValues {
			if v.SecretString == nil {
				continue
			}
			for _, id := range chunk {
				if id == aws.ToString(v.ARN) || id == aws.ToString(v.Name) {
					out[id] = *v.SecretString
				}
			}
		}
	}
	return out, nil
}

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

//go:build integration

package motostack_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

func secret(t *testing.T, id string) string {
	t.Helper()
	out, err := moto.SecretsManager().GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.SecretString)
}

// TestKeysRotate: the customer data key rotates, as the template's does
// (make check fails a key that does not).
func TestKeysRotate(t *testing.T) {
	st := motostack.New(t, moto, motostack.Options{Only: []string{"CustomerDataKey"}})
	out, err := kms.NewFromConfig(moto.Config()).GetKeyRotationStatus(context.Background(),
		&kms.GetKeyRotationStatusInput{KeyId: aws.String(st.Names["CustomerDataKey"])})
	if err != nil {
		t.Fatal(err)
	}
	if !out.KeyRotationEnabled {
		t.Fatal("the customer data key does not rotate")
	}
}

// TestSecrets: a generated secret is made in the template's format unless
// Options.Secrets gives its value; a parameter secret is made only with a
// value, and the functions' variables name what was made.
func TestSecrets(t *testing.T) {
	st := motostack.New(t, moto, motostack.Options{
		Only:    []string{"CursorKeySecret", "IdempotencyKeySecret", "ApiTokensSecretArn", "SumsubSecretArn"},
		Secrets: map[string]string{"IdempotencyKeySecret": `{"key":"short"}`, "ApiTokensSecretArn": `{"tokens":[]}`},
	})
	var cursor struct{ Key string }
	if err := json.Unmarshal([]byte(secret(t, st.Names["CursorKeySecret"])), &cursor); err != nil || len(cursor.Key) != 44 {
		t.Errorf("generated cursor secret: key %q, %v; want 44 characters", cursor.Key, err)
	}
	if got := secret(t, st.Names["IdempotencyKeySecret"]); got != `{"key":"short"}` {
		t.Errorf("idempotency key secret = %s; want the value given", got)
	}
	if got := secret(t, st.Names["ApiTokensSecretArn"]); got != `{"tokens":[]}` {
		t.Errorf("tokens secret = %s; want the value given", got)
	}
	if _, made := st.Names["SumsubSecretArn"]; made {
		t.Errorf("the Sumsub secret was made without a value")
	}
	for k, id := range map[string]string{"CURSOR_KEY_SECRET_ID": "CursorKeySecret", "IDEMPOTENCY_KEY_SECRET_ID": "IdempotencyKeySecret",
		"API_TOKENS_SECRET_ID": "ApiTokensSecretArn"} {
		if st.Env[k] != st.Names[id] || st.Env[k] == "" {
			t.Errorf("Env[%s] = %q; want %s's name %q", k, st.Env[k], id, st.Names[id])
		}
	}
	if v, ok := st.Env["SUMSUB_SECRET_ID"]; ok {
		t.Errorf("Env names a Sumsub secret that was not made: %q", v)
	}
}

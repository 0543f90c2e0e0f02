//go:build integration

package secrets_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

func TestSecretsManagerSource(t *testing.T) {
	moto := moto.Need(t)
	// One of the template's secrets, made with the value testSource reads.
	id := motostack.New(t, moto, motostack.Options{Only: []string{"SumsubSecretArn"},
		Secrets: map[string]string{"SumsubSecretArn": `{"a":"b"}`}}).Names["SumsubSecretArn"]
	testSource(t, &awsstore.SecretsManager{Client: moto.SecretsManager()}, id)
}

// TestSecretsManagerBatch: BatchGetSecretValue on moto reads several of
// the template's secrets in one call, found by the ARNs the configuration
// names; an id it cannot read is left out, not an error.
func TestSecretsManagerBatch(t *testing.T) {
	moto := moto.Need(t)
	st := motostack.New(t, moto, motostack.Options{Only: []string{"SumsubSecretArn", "ApiTokensSecretArn"},
		Secrets: map[string]string{"SumsubSecretArn": `{"a":"b"}`, "ApiTokensSecretArn": `{"tokens":[]}`}})
	src := &awsstore.SecretsManager{Client: moto.SecretsManager()}
	missing := "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf"
	got, err := src.SecretStrings(context.Background(), []string{st.Names["SumsubSecretArn"], st.Names["ApiTokensSecretArn"], missing})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{st.Names["SumsubSecretArn"]: `{"a":"b"}`, st.Names["ApiTokensSecretArn"]: `{"tokens":[]}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batch (-want +got):\n%s", diff)
	}
}

//go:build integration

package secrets_test

import (
	"os"
	"testing"

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

//go:build integration

package secrets_test

import (
	"os"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

func TestSecretsManagerSource(t *testing.T) {
	moto := moto.Need(t)
	id := motoserver.Name("kyc/present")
	moto.PutSecret(t, id, `{"a":"b"}`)
	testSource(t, &awsstore.SecretsManager{Client: moto.SecretsManager()}, id)
}

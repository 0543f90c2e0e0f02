//go:build integration

package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/customers"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

// TestMotoCustomers runs the suite on DynamoDB and KMS (moto), the link
// route's and the reviews' stores being pkg/customers' over the same table.
func TestMotoCustomers(t *testing.T) {
	srv := moto.Need(t)
	k := kms.NewFromConfig(srv.Config())
	key := CreateKey(t, k)
	CustomerRecords(t, func(t *testing.T) Env {
		table := motoserver.Name("customers")
		db := srv.DynamoDB()
		CreateCustomersTable(t, db, table, "byPlatform")
		count := &Counting{Client: db}
		outbox := motoserver.Name("outbox")
		srv.CreateTable(t, outbox, "id")
		return Env{
			Records: &awsstore.Customers{Client: count, Table: table, Index: "byPlatform"},
			Links:   &customers.DynamoDB{Client: db, Table: table},
			Reviews: &customers.ReviewDynamoDB{Client: db, Table: table, OutboxTable: outbox},
			Sealer:  &awsstore.KMSSealer{Client: k, KeyID: key},
			Stored: func(t *testing.T, id string) []string {
				out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
					Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}, ConsistentRead: aws.Bool(true)})
				if err != nil || out.Item == nil {
					t.Fatalf("raw item %s: %v", id, err)
				}
				return Flatten(out.Item)
			},
			RangeReads: count.Queries.Load, Scans: count.Scans.Load,
		}
	})
}

func TestMotoPlatforms(t *testing.T) {
	srv := moto.Need(t)
	PlatformStore(t, func(t *testing.T) (kyc.PlatformStore, webhooks.Platforms) {
		table := motoserver.Name("platforms")
		srv.CreateTable(t, table, "id")
		db := srv.DynamoDB()
		p := &awsstore.Platforms{Client: db, Table: table}
		return p, p
	})
}

func TestMotoKMSSealer(t *testing.T) {
	srv := moto.Need(t)
	k := kms.NewFromConfig(srv.Config())
	key := CreateKey(t, k)
	Sealer(t, &awsstore.KMSSealer{Client: k, KeyID: key}, func(ct []byte, customerID, platformID string) ([]byte, error) {
		out, err := k.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: ct,
			EncryptionContext: map[string]string{"customerId": customerID, "platformId": platformID}})
		if err != nil {
			return nil, err
		}
		return out.Plaintext, nil
	})
}

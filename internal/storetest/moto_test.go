//go:build integration

package storetest

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/awsstore/kmsseal"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

// TestMotoCustomers runs the suite on DynamoDB and KMS (moto): one store
// serves the platform API, the link route and the reviews.
func TestMotoCustomers(t *testing.T) {
	srv := moto.Need(t)
	k := kms.NewFromConfig(srv.Config())
	key := motostack.New(t, srv, motostack.Options{Only: []string{"CustomerDataKey"}}).Names["CustomerDataKey"]
	CustomerRecords(t, func(t *testing.T) Env {
		st := motostack.New(t, srv, motostack.Options{Only: []string{"CustomersTable", "WebhookOutboxTable"}})
		table, outbox := st.Names["CustomersTable"], st.Names["WebhookOutboxTable"]
		db := srv.DynamoDB()
		count := &Counting{Client: db}
		store := &awsstore.Customers{Client: count, Table: table, Index: "byPlatform", OutboxTable: outbox}
		return Env{
			Records: store, Links: store, Reviews: store,
			Sealer: &kmsseal.KMSSealer{Client: k, KeyID: key},
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

// TestMotoReviews runs the review suite on the customers and outbox
// tables (moto), the starting customers written with the table's codec.
func TestMotoReviews(t *testing.T) {
	srv := moto.Need(t)
	Reviews(t, func(t *testing.T, cs ...kyc.Customer) ReviewEnv {
		st := motostack.New(t, srv, motostack.Options{Only: []string{"CustomersTable", "WebhookOutboxTable"}})
		table, outbox := st.Names["CustomersTable"], st.Names["WebhookOutboxTable"]
		db := srv.DynamoDB()
		for _, c := range cs {
			if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: awsstore.CustomerItem(c)}); err != nil {
				t.Fatal(err)
			}
		}
		return ReviewEnv{Store: &awsstore.Customers{Client: db, Table: table, OutboxTable: outbox},
			Notices: func(t *testing.T) []kyc.Notice {
				out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(outbox), ConsistentRead: aws.Bool(true)})
				if err != nil {
					t.Fatal(err)
				}
				// The table's items, read as the relay reads them, oldest first.
				ns := make([]kyc.Notice, 0, len(out.Items))
				for _, it := range out.Items {
					n, err := awsstore.NoticeFromOutbox(it)
					if err != nil {
						t.Fatal(err)
					}
					ns = append(ns, n)
				}
				slices.SortFunc(ns, func(a, b kyc.Notice) int { return a.CreatedAt.Compare(b.CreatedAt) })
				return ns
			}}
	})
}

func TestMotoPlatforms(t *testing.T) {
	srv := moto.Need(t)
	PlatformStore(t, func(t *testing.T) (kyc.PlatformStore, webhooks.Platforms) {
		table := motostack.New(t, srv, motostack.Options{Only: []string{"PlatformsTable"}}).Names["PlatformsTable"]
		db := srv.DynamoDB()
		p := &awsstore.Platforms{Client: db, Table: table}
		return p, p
	})
}

func TestMotoKMSSealer(t *testing.T) {
	srv := moto.Need(t)
	k := kms.NewFromConfig(srv.Config())
	key := motostack.New(t, srv, motostack.Options{Only: []string{"CustomerDataKey"}}).Names["CustomerDataKey"]
	Sealer(t, &kmsseal.KMSSealer{Client: k, KeyID: key}, func(ct []byte, customerID, platformID string) ([]byte, error) {
		out, err := k.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: ct,
			EncryptionContext: map[string]string{"customerId": customerID, "platformId": platformID}})
		if err != nil {
			return nil, err
		}
		return out.Plaintext, nil
	})
}

// TestMotoContactCodes runs the contact codes suite on the template's
// table (moto).
func TestMotoContactCodes(t *testing.T) {
	srv := moto.Need(t)
	ContactCodes(t, func(t *testing.T) kyc.ContactCodes {
		st := motostack.New(t, srv, motostack.Options{Only: []string{"ContactCodesTable"}})
		return &awsstore.ContactCodes{Client: srv.DynamoDB(), Table: st.Names["ContactCodesTable"]}
	})
}

// TestMotoDocuments runs the documents suite on the template's table
// (moto): the by-id and by-holder items, the by-platform index.
func TestMotoDocuments(t *testing.T) {
	srv := moto.Need(t)
	DocumentRecords(t, func(t *testing.T) kyc.DocumentRecords {
		st := motostack.New(t, srv, motostack.Options{Only: []string{"DocumentsTable"}})
		return &awsstore.Documents{Client: srv.DynamoDB(), Table: st.Names["DocumentsTable"], Index: "byPlatform"}
	})
}

// TestMotoVerifications runs the verifications suite on the template's
// customers, documents, verifications and outbox tables (moto): a
// submission's one transaction over all four, and a review's move.
func TestMotoVerifications(t *testing.T) {
	srv := moto.Need(t)
	VerificationRecords(t, func(t *testing.T) VerificationEnv {
		st := motostack.New(t, srv, motostack.Options{Only: []string{"CustomersTable", "WebhookOutboxTable", "DocumentsTable", "VerificationsTable"}})
		db := srv.DynamoDB()
		customers, outbox := st.Names["CustomersTable"], st.Names["WebhookOutboxTable"]
		docs, verifications := st.Names["DocumentsTable"], st.Names["VerificationsTable"]
		c := &awsstore.Customers{Client: db, Table: customers, Index: "byPlatform", OutboxTable: outbox, VerificationsTable: verifications}
		return VerificationEnv{
			Verifications: &awsstore.Verifications{Client: db, Table: verifications, ByPlatformIndex: "byPlatform", ByCustomerIndex: "byCustomer",
				CustomersTable: customers, DocumentsTable: docs, OutboxTable: outbox},
			Documents: &awsstore.Documents{Client: db, Table: docs, Index: "byPlatform"},
			Customers: c, Reviews: c,
			Notices: func(t *testing.T) []kyc.Notice { return outboxNotices(t, db, outbox) },
		}
	})
}

// outboxNotices reads the outbox table's items as the relay reads them.
func outboxNotices(t *testing.T, db *dynamodb.Client, outbox string) []kyc.Notice {
	t.Helper()
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(outbox), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	ns := make([]kyc.Notice, 0, len(out.Items))
	for _, it := range out.Items {
		n, err := awsstore.NoticeFromOutbox(it)
		if err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	return ns
}

// TestMotoOwners runs the owners suite on the template's customers,
// documents, verifications and outbox tables (moto); what is stored is
// every item of the customers table (the business, its owners' pointers).
func TestMotoOwners(t *testing.T) {
	srv := moto.Need(t)
	Owners(t, func(t *testing.T) OwnerEnv {
		st := motostack.New(t, srv, motostack.Options{Only: []string{"CustomersTable", "WebhookOutboxTable", "DocumentsTable", "VerificationsTable"}})
		db := srv.DynamoDB()
		customers, outbox := st.Names["CustomersTable"], st.Names["WebhookOutboxTable"]
		docs, verifications := st.Names["DocumentsTable"], st.Names["VerificationsTable"]
		c := &awsstore.Customers{Client: db, Table: customers, Index: "byPlatform", OutboxTable: outbox, VerificationsTable: verifications}
		return OwnerEnv{Customers: c, Owners: c, Reviews: c,
			Verifications: &awsstore.Verifications{Client: db, Table: verifications, ByPlatformIndex: "byPlatform", ByCustomerIndex: "byCustomer",
				CustomersTable: customers, DocumentsTable: docs, OutboxTable: outbox},
			Stored: func(t *testing.T, _ string) []string {
				out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(customers), ConsistentRead: aws.Bool(true)})
				if err != nil {
					t.Fatal(err)
				}
				var all []string
				for _, it := range out.Items {
					all = append(all, Flatten(it)...)
				}
				return all
			}}
	})
}

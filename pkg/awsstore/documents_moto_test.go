//go:build integration

package awsstore_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// TestDocumentItems: a document is its by-id item (the lock's and the
// version's authority, outside the by-platform index) and its by-holder
// item (in the index), as docs and make dev's readers expect them.
func TestDocumentItems(t *testing.T) {
	ctx := context.Background()
	srv := moto.Need(t)
	db := srv.DynamoDB()
	table := motostack.New(t, srv, motostack.Options{Only: []string{"DocumentsTable"}}).Names["DocumentsTable"]
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	d := kyc.Document{ID: "Document:019ac0de-0000-7000-8000-000000000001", PlatformID: "p1",
		Holder: "Customer:019ac0de-0000-7000-8000-000000000002", Type: "PASSPORT", Country: "US", Number: "X1",
		FileName: "p.pdf", ContentType: kyc.ContentTypePDF, Size: 10, FileKey: "documents/x/v1", CreatedAt: at, UpdatedAt: at, Version: 1}
	store := &awsstore.Documents{Client: db, Table: table}
	if err := store.InsertDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]map[string]types.AttributeValue{}
	for _, it := range out.Items {
		keys[it["pk"].(*types.AttributeValueMemberS).Value+" "+it["sk"].(*types.AttributeValueMemberS).Value] = it
	}
	byID, byHolder := keys[d.ID+" document"], keys[d.Holder+" "+d.ListPosition()]
	// The holder's document count is an item of its own.
	if c, _ := keys["count#"+d.Holder+" count"]["n"].(*types.AttributeValueMemberN); c == nil || c.Value != "1" {
		t.Errorf("the holder's count item %v; want n 1", keys["count#"+d.Holder+" count"])
	}
	if len(out.Items) != 3 || byID == nil || byHolder == nil {
		t.Fatalf("items %v; want %s/document and %s/%s", slices.Sorted(maps.Keys(keys)), d.ID, d.Holder, d.ListPosition())
	}
	if _, ok := byID["position"]; ok {
		t.Error("the by-id item has a position: the by-platform index would list every document twice")
	}
	if p, _ := byHolder["position"].(*types.AttributeValueMemberS); p == nil || p.Value != d.ListPosition() {
		t.Errorf("the holder item's position %v; want %s", byHolder["position"], d.ListPosition())
	}
	for _, it := range []map[string]types.AttributeValue{byID, byHolder} {
		if n, _ := it["createdAtMs"].(*types.AttributeValueMemberN); n == nil || n.Value != "1795683600000" {
			t.Errorf("createdAtMs %v; want epoch milliseconds", it["createdAtMs"])
		}
		if got := awsstore.DocumentFromItem(it); got.ID != d.ID || got.Number != d.Number || got.Version != 1 {
			t.Errorf("DocumentFromItem = %+v", got)
		}
	}
	idx, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("byPlatform"),
		KeyConditionExpression:    aws.String("platformId = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "p1"}}})
	if err != nil || len(idx.Items) != 1 {
		t.Errorf("the index holds %d items, %v; want the holder item alone", len(idx.Items), err)
	}
}

// TestCustomerVerificationIDItem: the customers table's verificationId is
// read back, and the item format writes it.
func TestCustomerVerificationIDItem(t *testing.T) {
	ctx := context.Background()
	srv := moto.Need(t)
	db := srv.DynamoDB()
	table := motostack.New(t, srv, motostack.Options{Only: []string{"CustomersTable"}}).Names["CustomersTable"]
	c := kyc.Customer{ID: "Customer:019ac0de-0000-7000-8000-000000000009", PlatformID: "p1", Type: kyc.Individual,
		KYCStatus: kyc.StatusPending, VerificationID: "Verification:019ac0de-0000-7000-8000-000000000001"}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: awsstore.CustomerItem(c)}); err != nil {
		t.Fatal(err)
	}
	store := &awsstore.Customers{Client: db, Table: table}
	for name, read := range map[string]func(context.Context, string) (kyc.Customer, error){
		"CustomerRecord": store.CustomerRecord, "FindCustomer": store.FindCustomer} {
		if got, err := read(ctx, c.ID); err != nil || got.VerificationID != c.VerificationID {
			t.Errorf("%s: verification %q, %v; want %s", name, got.VerificationID, err, c.VerificationID)
		}
	}
}

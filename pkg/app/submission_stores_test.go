//go:build integration

package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/awsstore/kmsseal"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// TestSubmissionMarksOnMoto: the verifications table's marks
// (kyc.SubmissionMarks): a verification is not submitted until marked;
// a second mark keeps the first time; marking a verification that does
// not exist makes no item.
func TestSubmissionMarksOnMoto(t *testing.T) {
	moto := moto.Need(t)
	st := motostack.New(t, moto, motostack.Options{Only: []string{"VerificationsTable"}})
	db, table := moto.DynamoDB(), st.Names["VerificationsTable"]
	v := &awsstore.Verifications{Client: db, Table: table}
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	const id = "Verification:019ac0de-0000-7000-8000-000000000001"
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: awsstore.VerificationItem(kyc.Verification{
		ID: id, PlatformID: "p", CustomerID: "Customer:c", Status: kyc.VerificationInProgress, CreatedAt: now, UpdatedAt: now})}); err != nil {
		t.Fatal(err)
	}
	if done, err := v.Submitted(ctx, id); err != nil || done {
		t.Fatalf("Submitted before any mark = %v, %v", done, err)
	}
	for i, at := range []time.Time{now.Add(time.Second), now.Add(time.Minute)} {
		if err := v.MarkSubmitted(ctx, id, at); err != nil {
			t.Fatalf("mark %d: %v", i, err)
		}
		if done, err := v.Submitted(ctx, id); err != nil || !done {
			t.Fatalf("Submitted after mark %d = %v, %v", i, done, err)
		}
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := out.Item["submittedAtMs"].(*types.AttributeValueMemberN); n == nil || n.Value != "1796115601000" {
		t.Errorf("submittedAtMs %v; want the first mark's time, 1796115601000", out.Item["submittedAtMs"])
	}
	if got := awsstore.VerificationFromItem(out.Item); got.Status != kyc.VerificationInProgress || got.CustomerID != "Customer:c" {
		t.Errorf("the mark changed the verification: %+v", got)
	}
	const none = "Verification:019ac0de-0000-7000-8000-000000000002"
	if err := v.MarkSubmitted(ctx, none, now); err != nil {
		t.Fatalf("mark of no verification: %v", err)
	}
	out, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: none}}})
	if err != nil || out.Item != nil {
		t.Errorf("marking no verification made %v (%v)", out.Item, err)
	}
}

// TestOpenerOnMoto: what the platform API sealed (KMS Encrypt under the
// customer data key's alias and the customer's context) the submission
// opens under the same context, and under another customer's or
// platform's it does not.
func TestOpenerOnMoto(t *testing.T) {
	moto := moto.Need(t)
	st := motostack.New(t, moto, motostack.Options{Only: []string{"CustomerDataKey"}})
	client := kms.NewFromConfig(moto.Config())
	key := st.Names["CustomerDataKeyAlias"]
	ctx := context.Background()
	sealed, err := (&kmsseal.KMSSealer{Client: client, KeyID: key}).Seal(ctx, []byte("123-45-6789"), "Customer:c", "p")
	if err != nil {
		t.Fatal(err)
	}
	opener := &kmsseal.KMSOpener{Client: client, KeyID: key}
	if got, err := opener.Unseal(ctx, sealed, "Customer:c", "p"); err != nil || string(got) != "123-45-6789" {
		t.Fatalf("Unseal = %q, %v", got, err)
	}
	for _, who := range [][2]string{{"Customer:other", "p"}, {"Customer:c", "q"}} {
		if got, err := opener.Unseal(ctx, sealed, who[0], who[1]); err == nil {
			t.Errorf("opened for %v: %q", who, got)
		}
	}
}

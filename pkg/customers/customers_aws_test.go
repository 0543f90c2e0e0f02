//go:build integration

package customers_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/pkg/customers"
	"github.com/grid-kyc/kyc-link/pkg/kyc"

	"slices"

	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

func TestDynamoDB(t *testing.T) {
	moto := moto.Need(t)
	table := motoserver.Name("customers")
	moto.CreateTable(t, table, "id")
	db := moto.DynamoDB()
	put := func(item map[string]types.AttributeValue) {
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	S := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	put(map[string]types.AttributeValue{"id": S(full.ID), "platformId": S("p1"), "customerType": S("BUSINESS"),
		"kycStatus": S("PENDING"), "email": S(full.Email), "phoneNumber": S(full.PhoneNumber), "platformCustomerId": S("u1"),
		"createdAt": S(full.CreatedAt), "updatedAt": S("2025-10-13T12:00:00Z"),
		"contactVerification": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"email": S("VERIFIED"), "phone": S("PENDING")}}})
	put(map[string]types.AttributeValue{"id": S(deleted.ID), "platformId": S("p1"), "customerType": S("INDIVIDUAL"),
		"kycStatus": S("UNVERIFIED"), "isDeleted": &types.AttributeValueMemberBOOL{Value: true}})
	// customerType absent; an attribute of an unexpected type reads as absent.
	put(map[string]types.AttributeValue{"id": S(bare.ID), "platformId": S("p2"), "email": &types.AttributeValueMemberN{Value: "7"}})
	testStore(t, &customers.DynamoDB{Client: db, Table: table})
}

// TestDynamoDBFaults: a missing table is our misconfiguration (500, no
// retry hint, the cause naming the table); an unreachable DynamoDB is an
// outage (503 with a retry hint).
func TestDynamoDBFaults(t *testing.T) {
	moto := moto.Need(t)
	missing := &customers.DynamoDB{Client: moto.DynamoDB(), Table: "no-such-table"}
	_, err := missing.FindCustomer(context.Background(), "Customer:1")
	if e := kyc.AsError(err); e.Code != kyc.CodeInternal || e.RetryAfter != 0 || !strings.Contains(err.Error(), "no-such-table") {
		t.Fatalf("FindCustomer on a missing table = %v; want INTERNAL_ERROR naming the table, no retry hint", err)
	}
	cfg := moto.Config()
	cfg.BaseEndpoint = aws.String("http://127.0.0.1:1") // nothing listens there
	down := &customers.DynamoDB{Client: dynamodb.NewFromConfig(cfg), Table: "customers"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = down.FindCustomer(ctx, "Customer:1")
	if e := kyc.AsError(err); e.Code != kyc.CodeUnavailable || e.RetryAfter == 0 {
		t.Fatalf("FindCustomer with DynamoDB unreachable = %v; want SERVICE_UNAVAILABLE with a retry hint", err)
	}
}

func TestDynamoDBReviews(t *testing.T) {
	moto := moto.Need(t)
	testReviews(t, func(t *testing.T) reviewBackend {
		table, outbox := motoserver.Name("customers"), motoserver.Name("outbox")
		moto.CreateTable(t, table, "id")
		moto.CreateTable(t, outbox, "id")
		db := moto.DynamoDB()
		for _, c := range []map[string]types.AttributeValue{
			{"id": S(ind.ID), "platformId": S("p1"), "customerType": S("INDIVIDUAL"), "kycStatus": S("UNVERIFIED"), "createdAt": S(ind.CreatedAt)},
			{"id": S(biz.ID), "platformId": S("p1"), "customerType": S("BUSINESS"), "createdAt": S(biz.CreatedAt)},
			{"id": S(del.ID), "platformId": S("p1"), "isDeleted": &types.AttributeValueMemberBOOL{Value: true}},
		} {
			if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: c}); err != nil {
				t.Fatal(err)
			}
		}
		store := &customers.ReviewDynamoDB{Client: db, Table: table, OutboxTable: outbox}
		return reviewBackend{store: store,
			notices: func(t *testing.T) []kyc.Notice {
				out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(outbox), ConsistentRead: aws.Bool(true)})
				if err != nil {
					t.Fatal(err)
				}
				// The table's items, read as the relay reads them, oldest first.
				ns := make([]kyc.Notice, 0, len(out.Items))
				for _, it := range out.Items {
					n, err := webhooks.NoticeFromOutbox(it)
					if err != nil {
						t.Fatal(err)
					}
					ns = append(ns, n)
				}
				slices.SortFunc(ns, func(a, b kyc.Notice) int { return a.CreatedAt.Compare(b.CreatedAt) })
				return ns
			},
			rejection: func(t *testing.T, id string) customers.Rejection {
				out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
					Key: map[string]types.AttributeValue{"id": S(id)}, ConsistentRead: aws.Bool(true)})
				if err != nil {
					t.Fatal(err)
				}
				return customers.RejectionFromItem(out.Item)
			}}
	})
}

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
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

var (
	full = kyc.Customer{ID: "Customer:1", PlatformID: "p1", Type: kyc.Business, KYCStatus: "PENDING",
		Email: "a@example.com", PhoneNumber: "+14155550100", PlatformCustomerID: "u1",
		CreatedAt: "2025-10-13T12:00:00Z", UpdatedAt: time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC),
		ContactVerification: kyc.ContactVerification{Email: "VERIFIED", Phone: "PENDING"}}
	deleted = kyc.Customer{ID: "Customer:2", PlatformID: "p1", Type: kyc.Individual, KYCStatus: "UNVERIFIED", IsDeleted: true}
	bare    = kyc.Customer{ID: "Customer:3", PlatformID: "p2"}
)

// testStore is the conformance suite both stores pass.
func testStore(t *testing.T, s kyc.CustomerStore) {
	ctx := context.Background()
	for _, want := range []kyc.Customer{full, deleted, bare} {
		got, err := s.FindCustomer(ctx, want.ID)
		if err != nil || got != want {
			t.Errorf("FindCustomer(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	_, err := s.FindCustomer(ctx, "Customer:missing")
	if kyc.AsError(err).Code != kyc.CodeNotFound {
		t.Errorf("FindCustomer(missing) = %v; want USER_NOT_FOUND", err)
	}
}

func TestMemory(t *testing.T) {
	testStore(t, customers.NewMemory(full, deleted, bare))
}

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
		"createdAt": S("2025-10-13T12:00:00Z"), "updatedAt": S("2025-10-13T12:00:00Z"),
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

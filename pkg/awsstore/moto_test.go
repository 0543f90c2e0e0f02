//go:build integration

package awsstore_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/awsstore/kmsseal"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

func S(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func use(t *testing.T) (*kyc.Customers, *dynamodb.Client, string) {
	srv := moto.Need(t)
	db := srv.DynamoDB()
	table := motostack.New(t, srv, motostack.Options{Only: []string{"CustomersTable"}}).Names["CustomersTable"]
	return &kyc.Customers{Store: &awsstore.Customers{Client: db, Table: table, Index: "byPlatform"}, Sealer: memstore.NewSealer(),
		CursorKey: memstore.RandomKey(), Now: time.Now}, db, table
}

// TestHandWrittenCustomer: a customer put by hand in the format docs/data-model.md
// documents (before the platform API) is read, gets platformCustomerId and
// umaAddress derived, and its first update puts it in the index.
func TestHandWrittenCustomer(t *testing.T) {
	ctx := context.Background()
	c, db, table := use(t)
	id := "Customer:019542f5-b3e7-1d02-0000-000000000009"
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"id": S(id), "platformId": S("p1"), "customerType": S("INDIVIDUAL"), "kycStatus": S("PENDING"),
		"email": S("ada@example.com"), "createdAt": S("2025-10-13T12:00:00Z"), "updatedAt": S("2025-10-13T12:00:00Z")}}); err != nil {
		t.Fatal(err)
	}
	v, err := c.Get(ctx, "p1", id)
	if err != nil || v.PlatformCustomerID != "019542f5-b3e7-1d02-0000-000000000009" ||
		v.UmaAddress != "$019542f5-b3e7-1d02-0000-000000000009@kyc-link.invalid" || v.KYCStatus != kyc.StatusPending {
		t.Fatalf("Get of a hand-written customer = %+v, %v", v, err)
	}
	if list, _ := c.List(ctx, "p1", kyc.ListQuery{}); len(list.Data) != 0 {
		t.Errorf("a customer without createdKey listed: %+v", list)
	}
	if _, err := c.Update(ctx, "p1", id, mustInput(t, `{"fullName":"Ada Lovelace"}`)); err != nil {
		t.Fatalf("Update of a hand-written customer: %v", err)
	}
	list, err := c.List(ctx, "p1", kyc.ListQuery{})
	if err != nil || len(list.Data) != 1 || list.Data[0].FullName != "Ada Lovelace" || list.Data[0].KYCStatus != kyc.StatusPending {
		t.Errorf("after its first update the list = %+v, %v", list, err)
	}
}

func mustInput(t *testing.T, body string) kyc.CustomerInput {
	in, err := kyc.ParseCustomerInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestFaults: a missing table or index is our misconfiguration (500, no
// retry hint, the cause naming the resource); DynamoDB or KMS unreachable
// is an outage (503 with a retry hint); a missing KMS key is ours (500).
func TestFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := moto.Need(t)
	db := srv.DynamoDB()
	cfg := srv.Config()
	cfg.BaseEndpoint = aws.String("http://127.0.0.1:1") // nothing listens there
	cfg.RetryMaxAttempts = 1
	down := dynamodb.NewFromConfig(cfg)
	// A customers table without the by-platform index: the platforms
	// table has that shape.
	st := motostack.New(t, srv, motostack.Options{Only: []string{"PlatformsTable", "CustomerDataKey"}})
	noIndex := st.Names["PlatformsTable"]
	k := kms.NewFromConfig(srv.Config())
	key := st.Names["CustomerDataKey"]

	internal := func(name, resource string, err error) {
		t.Helper()
		if e := kyc.AsError(err); e.Code != kyc.CodeInternal || e.RetryAfter != 0 || !strings.Contains(err.Error(), resource) {
			t.Errorf("%s = %v; want INTERNAL_ERROR naming %s", name, err, resource)
		}
	}
	unavailable := func(name string, err error) {
		t.Helper()
		if e := kyc.AsError(err); e.Code != kyc.CodeUnavailable || e.RetryAfter == 0 {
			t.Errorf("%s = %v; want SERVICE_UNAVAILABLE with a retry hint", name, err)
		}
	}
	missing := &awsstore.Customers{Client: db, Table: "no-such-table"}
	_, err := missing.CustomerRecord(ctx, "Customer:1")
	internal("get from a missing table", "no-such-table", err)
	internal("insert into a missing table", "no-such-table", missing.InsertCustomer(ctx, kyc.Customer{ID: "Customer:1", PlatformID: "p", PlatformCustomerID: "u"}))
	_, _, err = (&awsstore.Customers{Client: db, Table: noIndex, Index: "byPlatform"}).CustomerRange(ctx, kyc.RangeQuery{PlatformID: "p", Limit: 1})
	internal("list without the index", "byPlatform", err)
	_, err = (&awsstore.Customers{Client: down, Table: "customers"}).CustomerRecord(ctx, "Customer:1")
	unavailable("get with DynamoDB unreachable", err)
	_, err = (&awsstore.Platforms{Client: down, Table: "platforms"}).PlatformConfig(ctx, "p")
	unavailable("platform config with DynamoDB unreachable", err)
	_, err = (&awsstore.Platforms{Client: db, Table: "no-such-platforms"}).PlatformConfig(ctx, "p")
	internal("platform config from a missing table", "no-such-platforms", err)

	_, err = (&kmsseal.KMSSealer{Client: k, KeyID: "alias/no-such-key"}).Seal(ctx, []byte("x"), "Customer:1", "p")
	internal("seal with a missing key", "alias/no-such-key", err)
	_, err = (&kmsseal.KMSSealer{Client: kms.NewFromConfig(cfg), KeyID: key}).Seal(ctx, []byte("x"), "Customer:1", "p")
	unavailable("seal with KMS unreachable", err)
}

// TestPlatformItemKeepsItsOtherAttributes: setting the webhook endpoint
// leaves the rate limits an operator put on the platform's item.
func TestPlatformItemKeepsItsOtherAttributes(t *testing.T) {
	ctx := context.Background()
	srv := moto.Need(t)
	db := srv.DynamoDB()
	table := motostack.New(t, srv, motostack.Options{Only: []string{"PlatformsTable"}}).Names["PlatformsTable"]
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"id": S("p1"), "webhookUrl": S("https://old.example.com"), "rateLimit": &types.AttributeValueMemberN{Value: "5"}}}); err != nil {
		t.Fatal(err)
	}
	p := &awsstore.Platforms{Client: db, Table: table}
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	c, err := p.SetWebhookEndpoint(ctx, "p1", "https://new.example.com/hooks", at)
	if err != nil || c.WebhookEndpoint != "https://new.example.com/hooks" || !c.CreatedAt.Equal(at) {
		t.Fatalf("SetWebhookEndpoint = %+v, %v", c, err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": S("p1")}})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := out.Item["rateLimit"].(*types.AttributeValueMemberN); !ok || n.Value != "5" {
		t.Errorf("rateLimit after the change: %#v", out.Item["rateLimit"])
	}
	if u, ok := out.Item["webhookUrl"].(*types.AttributeValueMemberS); !ok || u.Value != "https://new.example.com/hooks" {
		t.Errorf("webhookUrl = %#v", out.Item["webhookUrl"])
	}
}

// TestLinkReadsHandWrittenItems: the link route's read of items written by
// hand (docs/data-model.md): every attribute it knows, contactVerification
// included; a deleted one as deleted; no customerType and an attribute of
// an unexpected type read as absent rather than failing the request.
func TestLinkReadsHandWrittenItems(t *testing.T) {
	srv := moto.Need(t)
	db := srv.DynamoDB()
	table := motostack.New(t, srv, motostack.Options{Only: []string{"CustomersTable"}}).Names["CustomersTable"]
	put := func(item map[string]types.AttributeValue) {
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC)
	put(map[string]types.AttributeValue{"id": S("Customer:1"), "platformId": S("p1"), "customerType": S("BUSINESS"),
		"kycStatus": S("PENDING"), "email": S("a@example.com"), "phoneNumber": S("+14155550100"), "platformCustomerId": S("u1"),
		"createdAt": S("2025-10-13T12:00:00.000Z"), "updatedAt": S("2025-10-13T12:00:00Z"),
		"contactVerification": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"email": S("VERIFIED"), "phone": S("PENDING")}}})
	put(map[string]types.AttributeValue{"id": S("Customer:2"), "platformId": S("p1"), "customerType": S("INDIVIDUAL"),
		"kycStatus": S("UNVERIFIED"), "isDeleted": &types.AttributeValueMemberBOOL{Value: true}})
	put(map[string]types.AttributeValue{"id": S("Customer:3"), "platformId": S("p2"), "email": &types.AttributeValueMemberN{Value: "7"}})
	store := &awsstore.Customers{Client: db, Table: table}
	for _, want := range []kyc.Customer{
		{ID: "Customer:1", PlatformID: "p1", Type: kyc.Business, KYCStatus: kyc.StatusPending, Email: "a@example.com",
			PhoneNumber: "+14155550100", PlatformCustomerID: "u1", CreatedAt: at, UpdatedAt: at,
			ContactVerification: kyc.ContactVerification{Email: "VERIFIED", Phone: "PENDING"}},
		{ID: "Customer:2", PlatformID: "p1", Type: kyc.Individual, KYCStatus: kyc.StatusUnverified, IsDeleted: true},
		{ID: "Customer:3", PlatformID: "p2"},
	} {
		got, err := store.FindCustomer(context.Background(), want.ID)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("FindCustomer(%s) = %v (-want +got):\n%s", want.ID, err, diff)
		}
	}
	if _, err := store.FindCustomer(context.Background(), "Customer:missing"); kyc.AsError(err).Code != kyc.CodeNotFound {
		t.Errorf("FindCustomer(missing) = %v; want USER_NOT_FOUND", err)
	}
}

// TestLinkReadFaults: a missing table is our misconfiguration (500, no
// retry hint, the cause naming the table); an unreachable DynamoDB is an
// outage (503 with a retry hint).
func TestLinkReadFaults(t *testing.T) {
	srv := moto.Need(t)
	missing := &awsstore.Customers{Client: srv.DynamoDB(), Table: "no-such-table"}
	_, err := missing.FindCustomer(context.Background(), "Customer:1")
	if e := kyc.AsError(err); e.Code != kyc.CodeInternal || e.RetryAfter != 0 || !strings.Contains(err.Error(), "no-such-table") {
		t.Fatalf("FindCustomer on a missing table = %v; want INTERNAL_ERROR naming the table, no retry hint", err)
	}
	cfg := srv.Config()
	cfg.BaseEndpoint = aws.String("http://127.0.0.1:1") // nothing listens there
	down := &awsstore.Customers{Client: dynamodb.NewFromConfig(cfg), Table: "customers"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = down.FindCustomer(ctx, "Customer:1")
	if e := kyc.AsError(err); e.Code != kyc.CodeUnavailable || e.RetryAfter == 0 {
		t.Fatalf("FindCustomer with DynamoDB unreachable = %v; want SERVICE_UNAVAILABLE with a retry hint", err)
	}
}

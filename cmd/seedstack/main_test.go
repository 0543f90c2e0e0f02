//go:build integration

package main

import (
	"bytes"
	"context"
	stdb64 "encoding/base64"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/customers"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

// TestSeedPutsAPlatformACustomerAndAToken: against moto, the seeded token
// authenticates for the platform (the earlier tokens still do), and the
// customer is the platform's.
func TestSeedPutsAPlatformACustomerAndAToken(t *testing.T) {
	moto := moto.Need(t)
	n := names{CustomersTable: motoserver.Name("cust"), PlatformsTable: motoserver.Name("plat"), TokensSecret: motoserver.Name("tokens")}
	moto.CreateTable(t, n.CustomersTable, "id")
	moto.CreateTable(t, n.PlatformsTable, "id")
	moto.PutSecret(t, n.TokensSecret, `{"tokens":[{"id":"tok-old","platformId":"p0","secretSha256":"`+auth.DigestHex("old")+`"}]}`)

	var out bytes.Buffer
	in := input{Platform: "platform-9", Customer: "Customer:seed-1", CustomerType: "BUSINESS", WebhookURL: "https://hooks.example.com/grid"}
	if err := seed(context.Background(), moto.DynamoDB(), moto.SecretsManager(), n, in, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`token id:\s+(\S+)\nclient secret: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no token printed:\n%s", out.String())
	}
	cache := &secrets.Cached[auth.Tokens]{Source: &awsstore.SecretsManager{Client: moto.SecretsManager()}, ID: n.TokensSecret,
		Parse: auth.ParseTokens, MaxAge: time.Hour}
	a := &auth.Authenticator{Tokens: cache}
	for cred, want := range map[string]string{m[1] + ":" + m[2]: "platform-9", "tok-old:old": "p0"} {
		req := "Basic " + stdb64.StdEncoding.EncodeToString([]byte(cred))
		if p, err := a.Authenticate(context.Background(), req); err != nil || p != want {
			t.Errorf("token %s = %q, %v; want %s", cred[:8], p, err, want)
		}
	}
	c, err := (&customers.DynamoDB{Client: moto.DynamoDB(), Table: n.CustomersTable}).FindCustomer(context.Background(), "Customer:seed-1")
	if err != nil || c.PlatformID != "platform-9" || c.Type != "BUSINESS" || c.KYCStatus != "UNVERIFIED" {
		t.Fatalf("customer = %+v, %v", c, err)
	}
	p, err := moto.DynamoDB().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(n.PlatformsTable),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "platform-9"}}})
	if err != nil || p.Item["webhookUrl"] == nil {
		t.Fatalf("platform item = %v, %v; want its webhookUrl", p.Item, err)
	}
}

//go:build integration

package main

import (
	"bytes"
	"context"
	stdb64 "encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/gridhook/gridhooktest"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

// stack is a deployment on moto with the platform function serving its
// API in process, as API Gateway would, and a platform that checks the
// webhooks it receives.
type stack struct {
	names    names
	env      map[string]string
	platform *gridhooktest.Platform
}

func newStack(t *testing.T) stack {
	t.Helper()
	moto := moto.Need(t)
	signing, _, err := gridhook.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	st := motostack.New(t, moto, motostack.Options{
		Only: []string{"CustomersTable", "IdempotencyTable", "PlatformsTable", "CustomerDataKey", "CursorKeySecret",
			"IdempotencyKeySecret", "ApiTokensSecretArn", "WebhookSigningKeySecretArn"},
		Secrets: map[string]string{
			"ApiTokensSecretArn":         `{"tokens":[{"id":"tok-old","platformId":"p0","secretSha256":"` + auth.DigestHex("old") + `"}]}`,
			"WebhookSigningKeySecretArn": signing,
		}})
	env := st.Env
	env["KYC_BACKEND"] = "aws"
	// The test's platform listens on loopback, over http.
	env["WEBHOOK_ALLOW_LOOPBACK"] = "true"
	key, err := gridhook.ParseSigningSecret(signing)
	if err != nil {
		t.Fatal(err)
	}
	platform := gridhooktest.New(&key.PublicKey)
	t.Cleanup(platform.Close)

	t.Setenv("AWS_ENDPOINT_URL", moto.URL)
	t.Setenv("AWS_REGION", motoserver.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.Build(context.Background(), cfg, slog.New(slog.DiscardHandler), app.PlatformFunction)
	if err != nil {
		t.Fatal(err)
	}
	// Warm, as a deployed function that has served requests: it holds the
	// tokens from before the seed, so the new one is unknown to it at first.
	svc.Prime(context.Background())
	api := httptest.NewServer(svc.Handler())
	t.Cleanup(api.Close)
	return stack{names: names{APIURL: api.URL + "/", TokensSecret: env["API_TOKENS_SECRET_ID"]}, env: env, platform: platform}
}

// TestSeedCreatesTheCustomerThroughTheAPI: against moto and the platform
// function, the seed adds a token, waits until the (warm) API accepts it,
// sets the webhook endpoint with PATCH /config and creates the customer
// with POST /customers: the customer is the platform's, written as the API
// writes (in the by-platform index), the endpoint is on the platform's
// item, the platform got a signed TEST webhook, and the earlier tokens
// still work.
func TestSeedCreatesTheCustomerThroughTheAPI(t *testing.T) {
	s := newStack(t)
	var out bytes.Buffer
	in := input{Platform: "platform-9", CustomerType: "BUSINESS", PlatformCustomerID: "seed-customer-1", WebhookURL: s.platform.URL + "/grid"}
	start := time.Now()
	if err := seed(context.Background(), moto.SecretsManager(), http.DefaultClient, s.names, in, wait{For: 30 * time.Second, Every: 250 * time.Millisecond}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("seeded in %s:\n%s", time.Since(start).Round(time.Millisecond), out.String())
	m := regexp.MustCompile(`token id:\s+(\S+)\nclient secret: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no token printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "waiting for the API to accept the new token") {
		t.Errorf("the warm API accepted the new token at once; the wait is untested:\n%s", out.String())
	}
	cache := &secrets.Cached[auth.Tokens]{Source: &awsstore.SecretsManager{Client: moto.SecretsManager()}, ID: s.names.TokensSecret,
		Parse: auth.ParseTokens, MaxAge: time.Hour}
	a := &auth.Authenticator{Tokens: cache}
	for cred, want := range map[string]string{m[1] + ":" + m[2]: "platform-9", "tok-old:old": "p0"} {
		req := "Basic " + stdb64.StdEncoding.EncodeToString([]byte(cred))
		if p, err := a.Authenticate(context.Background(), req); err != nil || p != want {
			t.Errorf("token %s = %q, %v; want %s", cred[:8], p, err, want)
		}
	}

	id := regexp.MustCompile(`customer (Customer:\S+) \(BUSINESS, platformCustomerId seed-customer-1, `).FindStringSubmatch(out.String())
	if id == nil {
		t.Fatalf("no customer printed:\n%s", out.String())
	}
	item := getItem(t, s.env["CUSTOMERS_TABLE"], id[1])
	for attr, want := range map[string]string{"platformId": "platform-9", "customerType": "BUSINESS", "kybStatus": "UNVERIFIED", "platformCustomerId": "seed-customer-1"} {
		if v, _ := item[attr].(*types.AttributeValueMemberS); v == nil || v.Value != want {
			t.Errorf("customer %s = %v; want %s", attr, item[attr], want)
		}
	}
	if item["createdKey"] == nil {
		t.Errorf("the customer has no createdKey: not written by the API (%v)", item)
	}
	if p := getItem(t, s.env["PLATFORMS_TABLE"], "platform-9"); p["webhookUrl"] == nil ||
		p["webhookUrl"].(*types.AttributeValueMemberS).Value != in.WebhookURL {
		t.Errorf("platform item = %v; want webhookUrl %s", p, in.WebhookURL)
	}
	got := s.platform.Received()
	if len(got) != 1 || got[0].Envelope.Type != "TEST" {
		t.Errorf("the platform received %v; want one signed TEST webhook", got)
	}
}

// TestSeedNamesWhatTheAPIRefused: an answer that waiting cannot change (a
// webhook endpoint that is not https) ends the seed at once, before any
// customer is made, with the API's code and field.
func TestSeedNamesWhatTheAPIRefused(t *testing.T) {
	s := newStack(t)
	var out bytes.Buffer
	in := input{Platform: "platform-8", CustomerType: "INDIVIDUAL", WebhookURL: "http://hooks.example.com/grid"}
	err := seed(context.Background(), moto.SecretsManager(), http.DefaultClient, s.names, in, wait{For: 30 * time.Second, Every: 250 * time.Millisecond}, &out)
	if err == nil || !strings.Contains(err.Error(), "PATCH /config: 400 INVALID_INPUT") || !strings.Contains(err.Error(), "webhookEndpoint") {
		t.Fatalf("seed = %v; want PATCH /config's 400 naming webhookEndpoint\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "customer Customer:") {
		t.Errorf("a customer was created although the endpoint was refused:\n%s", out.String())
	}
}

func getItem(t *testing.T, table, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := moto.DynamoDB().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		t.Fatalf("item %s of %s: %v", id, table, err)
	}
	return out.Item
}

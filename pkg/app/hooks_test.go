//go:build integration

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/gridhook/gridhooktest"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

const webhookSecret = "sumsub-webhook-secret-for-tests"

// hookEnv is the webhook side wired on the AWS backend against moto: the
// customers, outbox (with its stream), platforms and dead-letter tables,
// the queue, the secrets, and a fake platform that checks signatures.
type hookEnv struct {
	app      *app.Service
	h        http.Handler
	platform *gridhooktest.Platform
	cfg      app.Config
	logs     *logbuf.Buffer
	signing  string // the signing key secret, which must never be logged
}

// hookTables provisions from template.yaml everything the webhook side
// needs on moto, with signingSecret as the signing key, and returns its
// environment variables; customers are (id, platform, type).
func hookTables(t testing.TB, platformURL, signingSecret string, customers ...[3]string) map[string]string {
	moto := moto.Need(t)
	st := motostack.New(t, moto, motostack.Options{
		Only: []string{"CustomersTable", "IdempotencyTable", "PlatformsTable", "WebhookDeadLetterTable", "WebhookOutboxTable", "WebhookQueue",
			"ApiTokensSecretArn", "SumsubSecretArn", "WebhookSigningKeySecretArn", "IdempotencyKeySecret"},
		Secrets: map[string]string{
			"ApiTokensSecretArn":         `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"` + auth.DigestHex("s") + `"}]}`,
			"SumsubSecretArn":            `{"appToken":"sbx:h","secretKey":"h-secret-key","webhookSecret":"` + webhookSecret + `"}`,
			"WebhookSigningKeySecretArn": signingSecret,
		},
	})
	env := map[string]string{
		"KYC_BACKEND": "aws", "KYC_PROVIDER": "sumsub", "KYC_REQUEST_TIMEOUT": "5s",
		"WEBHOOK_ALLOW_LOOPBACK": "true", "WEBHOOK_RETRY_BASE": "1s",
	}
	maps.Copy(env, st.Env)
	db := moto.DynamoDB()
	put := func(table string, item map[string]types.AttributeValue) {
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	put(env["PLATFORMS_TABLE"], awsstore.PlatformItem(kyc.PlatformConfig{PlatformID: "p", WebhookEndpoint: platformURL}))
	for _, c := range customers {
		put(env["CUSTOMERS_TABLE"], awsstore.CustomerItem(kyc.Customer{ID: c[0], PlatformID: c[1], Type: kyc.CustomerType(c[2]),
			CreatedAt: time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC), PlatformCustomerID: "user-" + c[0]}))
	}
	return env
}

// newSigningKey makes a signing key secret and a fake platform pinning
// its public key.
func newSigningKey(t testing.TB) (string, *gridhooktest.Platform) {
	signing, _, err := gridhook.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := gridhook.ParseSigningSecret(signing)
	if err != nil {
		t.Fatal(err)
	}
	platform := gridhooktest.New(&k.PublicKey)
	t.Cleanup(platform.Close)
	return signing, platform
}

func newHookEnv(t testing.TB, overrides map[string]string, customers ...[3]string) *hookEnv {
	moto.Need(t)
	signing, platform := newSigningKey(t)
	env := hookTables(t, platform.URL+"/hooks", signing, customers...)
	for k, v := range overrides {
		env[k] = v
	}
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	logs := &logbuf.Buffer{}
	ctx, stop := context.WithCancel(context.Background())
	a, err := app.Build(ctx, cfg, logs.Logger(), app.AllInOne)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return &hookEnv{app: a, h: a.Handler(), platform: platform, cfg: cfg, logs: logs, signing: signing}
}

// event is a Sumsub event body.
func event(typ, customer string, at time.Time, answer ...string) []byte {
	ev := map[string]any{"type": typ, "externalUserId": customer, "applicantId": "app-" + customer,
		"createdAtMs": sumsub.FormatCreatedAt(at), "correlationId": "corr-1", "sandboxMode": true}
	if len(answer) > 0 {
		rr := map[string]any{"reviewAnswer": answer[0]}
		if len(answer) > 1 {
			rr["reviewRejectType"] = answer[1]
			rr["rejectLabels"] = []string{"FORGERY"}
		}
		ev["reviewResult"] = rr
	}
	b, _ := json.Marshal(ev)
	return b
}

// post sends body to the receiver signed as Sumsub signs it with alg, and
// returns the answer, checked against the contract.
func (e *hookEnv) post(t testing.TB, body []byte, alg string) *httptest.ResponseRecorder {
	t.Helper()
	d, _ := sumsub.WebhookDigest(webhookSecret, alg, body)
	return e.postRaw(t, body, alg, d)
}

// postRaw sends body with the given digest header ("" sends none).
func (e *hookEnv) postRaw(t testing.TB, body []byte, alg, digest string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/webhooks/sumsub", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if digest != "" {
		r.Header.Set("X-Payload-Digest", digest)
	}
	if alg != "" {
		r.Header.Set("X-Payload-Digest-Alg", alg)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if err := contract.CheckWebhookResponse(w.Code, w.Header(), w.Body.Bytes()); err != nil {
		t.Error(err)
	}
	return w
}

// waitFor polls until cond holds, for at most d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after %s: %s", d, what)
		}
	}
}

func (e *hookEnv) customer(t testing.TB, id string) map[string]types.AttributeValue {
	out, err := moto.DynamoDB().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.cfg.CustomersTable),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func attr(item map[string]types.AttributeValue, k string) string {
	switch v := item[k].(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

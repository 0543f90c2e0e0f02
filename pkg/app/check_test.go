//go:build integration

package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

// checkEnv provisions a complete deployment on moto (and a fake Sumsub)
// and returns its environment.
func checkEnv(t *testing.T) map[string]string {
	moto := moto.Need(t)
	creds := sumsub.Credentials{AppToken: "sbx:check", SecretKey: "check-secret"}
	fake := sumsubtest.NewServer(creds)
	t.Cleanup(fake.Close)
	sfx := motoserver.Name("chk")
	env := map[string]string{
		"CUSTOMERS_TABLE": "cust-" + sfx, "IDEMPOTENCY_TABLE": "idem-" + sfx, "RATE_LIMIT_TABLE": "rate-" + sfx,
		"PLATFORMS_TABLE": "plat-" + sfx, "WEBHOOK_OUTBOX_TABLE": "outbox-" + sfx, "WEBHOOK_DEAD_LETTER_TABLE": "dead-" + sfx,
		"API_TOKENS_SECRET_ID": "tokens-" + sfx, "SUMSUB_SECRET_ID": "sumsub-" + sfx, "WEBHOOK_SIGNING_KEY_SECRET_ID": "signing-" + sfx,
		"SUMSUB_BASE_URL": fake.URL,
	}
	db := moto.DynamoDB()
	for _, tbl := range []struct{ env, key, ttl string }{
		{"CUSTOMERS_TABLE", "id", ""}, {"IDEMPOTENCY_TABLE", "pk", "expiresAt"}, {"RATE_LIMIT_TABLE", "pk", "expiresAt"},
		{"PLATFORMS_TABLE", "id", ""}, {"WEBHOOK_DEAD_LETTER_TABLE", "id", ""}, {"WEBHOOK_OUTBOX_TABLE", "id", "expiresAt"},
	} {
		if tbl.env == "WEBHOOK_OUTBOX_TABLE" {
			moto.CreateStreamTable(t, env[tbl.env], tbl.key)
		} else {
			moto.CreateTable(t, env[tbl.env], tbl.key)
		}
		if tbl.ttl != "" {
			if _, err := db.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(env[tbl.env]),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(tbl.ttl), Enabled: aws.Bool(true)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	env["WEBHOOK_QUEUE_URL"] = moto.CreateQueue(t, "q-"+sfx)
	signing, _, _ := gridhook.NewKey()
	moto.PutSecret(t, env["API_TOKENS_SECRET_ID"], `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"`+auth.DigestHex("s")+`"}]}`)
	moto.PutSecret(t, env["SUMSUB_SECRET_ID"], `{"appToken":"sbx:check","secretKey":"check-secret","webhookSecret":"w"}`)
	moto.PutSecret(t, env["WEBHOOK_SIGNING_KEY_SECRET_ID"], signing)
	t.Setenv("AWS_ENDPOINT_URL", moto.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	return env
}

func runCheck(t *testing.T, env map[string]string) map[string]app.CheckResult {
	t.Helper()
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, true)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]app.CheckResult{}
	for _, r := range app.Check(context.Background(), cfg) {
		out[r.Item] = r
	}
	return out
}

// TestCheckPassesOnACompleteDeployment: every item of a complete
// deployment passes (secrets, six tables, the queue, Sumsub).
func TestCheckPassesOnACompleteDeployment(t *testing.T) {
	results := runCheck(t, checkEnv(t))
	if len(results) != 11 {
		t.Errorf("%d items checked; want 11: %v", len(results), results)
	}
	for _, r := range results {
		if !r.OK {
			t.Errorf("%s", r)
		}
	}
}

// TestCheckFailsClearly: each broken piece fails its own line, naming the
// variable and what is wrong.
func TestCheckFailsClearly(t *testing.T) {
	for _, tc := range []struct {
		name, item, want string
		breakIt          func(t *testing.T, env map[string]string)
	}{
		{"missing table", "table absent-table", "CUSTOMERS_TABLE=absent-table", func(_ *testing.T, env map[string]string) {
			env["CUSTOMERS_TABLE"] = "absent-table"
		}},
		{"wrong key", "table ", "want only \"pk\"", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("idem-id-key")
			moto.CreateTable(t, name, "id")
			env["IDEMPOTENCY_TABLE"] = name
		}},
		{"no TTL", "table ", "TTL is not enabled", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("rate-no-ttl")
			moto.CreateTable(t, name, "pk")
			env["RATE_LIMIT_TABLE"] = name
		}},
		{"no stream", "table ", "no stream", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("outbox-no-stream")
			moto.CreateTable(t, name, "id")
			env["WEBHOOK_OUTBOX_TABLE"] = name
		}},
		{"tokens secret not in its format", "secret ", "API_TOKENS_SECRET_ID", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("tokens-bad")
			moto.PutSecret(t, name, `{"tokens":"x"}`)
			env["API_TOKENS_SECRET_ID"] = name
		}},
		{"Sumsub refuses the credentials", "Sumsub credentials", "4003", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("sumsub-wrong")
			moto.PutSecret(t, name, `{"appToken":"sbx:check","secretKey":"not-the-key","webhookSecret":"w"}`)
			env["SUMSUB_SECRET_ID"] = name
		}},
		{"no webhook secret", "secret ", "no webhookSecret", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("sumsub-no-hook")
			moto.PutSecret(t, name, `{"appToken":"sbx:check","secretKey":"check-secret"}`)
			env["SUMSUB_SECRET_ID"] = name
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := checkEnv(t)
			tc.breakIt(t, env)
			failed := 0
			found := false
			for _, r := range runCheck(t, env) {
				if r.OK {
					continue
				}
				failed++
				found = found || strings.HasPrefix(r.Item, tc.item) && strings.Contains(r.Detail, tc.want)
			}
			if failed != 1 || !found {
				t.Fatalf("%d failing items, the expected one (%s … %s) found: %v", failed, tc.item, tc.want, found)
			}
		})
	}
}

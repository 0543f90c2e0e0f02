//go:build integration

package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/samtemplate"
	"github.com/grid-kyc/kyc-link/internal/storetest"
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
		{"CUSTOMERS_TABLE", "id", "expiresAt"}, {"IDEMPOTENCY_TABLE", "pk", "expiresAt"}, {"RATE_LIMIT_TABLE", "pk", "expiresAt"},
		{"PLATFORMS_TABLE", "id", ""}, {"WEBHOOK_DEAD_LETTER_TABLE", "id", ""}, {"WEBHOOK_OUTBOX_TABLE", "id", "expiresAt"},
	} {
		switch tbl.env {
		case "WEBHOOK_OUTBOX_TABLE":
			moto.CreateStreamTable(t, env[tbl.env], tbl.key)
		case "CUSTOMERS_TABLE":
			storetest.CreateCustomersTable(t, db, env[tbl.env], "byPlatform")
		default:
			moto.CreateTable(t, env[tbl.env], tbl.key)
		}
		if tbl.ttl != "" {
			enableTTL(t, env[tbl.env], tbl.ttl)
		}
	}
	env["CUSTOMER_DATA_KEY_ID"] = newKey(t, true)
	env["CURSOR_KEY_SECRET_ID"] = "cursor-" + sfx
	moto.PutSecret(t, env["CURSOR_KEY_SECRET_ID"], generatedCursorSecret(t))
	env["IDEMPOTENCY_KEY_SECRET_ID"] = "idem-key-" + sfx
	moto.PutSecret(t, env["IDEMPOTENCY_KEY_SECRET_ID"], generatedCursorSecret(t))
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

// generatedCursorSecret is a value of the cursor secret as the stack
// generates it (template.yaml's GenerateSecretString).
func generatedCursorSecret(t *testing.T) string {
	t.Helper()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tpl.Secrets {
		if s.LogicalID == tpl.Env["PlatformApiFunction"]["CURSOR_KEY_SECRET_ID"] {
			v, err := s.Value()
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatal("the template generates no cursor secret")
	return ""
}

func enableTTL(t *testing.T, table, attr string) {
	t.Helper()
	if _, err := moto.DynamoDB().UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
}

// newKey makes a symmetric KMS key in moto (rotating or not) and returns
// an alias of it, as the stack passes CUSTOMER_DATA_KEY_ID.
func newKey(t *testing.T, rotating bool) string {
	t.Helper()
	k := kms.NewFromConfig(moto.Config())
	out, err := k.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("check"),
		KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt}) // as the template's
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.KeyMetadata.KeyId)
	if rotating {
		if _, err := k.EnableKeyRotation(context.Background(), &kms.EnableKeyRotationInput{KeyId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	alias := "alias/" + motoserver.Name("customer-data")
	if _, err := k.CreateAlias(context.Background(), &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	return alias
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
// deployment passes (four secrets, Sumsub, the KMS key, six tables, the
// queue).
func TestCheckPassesOnACompleteDeployment(t *testing.T) {
	results := runCheck(t, checkEnv(t))
	if len(results) != 14 {
		t.Errorf("%d items checked; want 14: %v", len(results), results)
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
		{"customers table without TTL", "table ", "TTL is not enabled on \"expiresAt\"", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("cust-no-ttl")
			storetest.CreateCustomersTable(t, moto.DynamoDB(), name, "byPlatform")
			env["CUSTOMERS_TABLE"] = name
		}},
		{"no customers index", "table ", "no index CUSTOMERS_BY_PLATFORM_INDEX=byPlatform", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("cust-no-index")
			moto.CreateTable(t, name, "id")
			enableTTL(t, name, "expiresAt")
			env["CUSTOMERS_TABLE"] = name
		}},
		{"index with other keys", "table ", "want partition key platformId (S), sort key createdKey (S)", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("cust-other-index")
			S := types.ScalarAttributeTypeS
			if _, err := moto.DynamoDB().CreateTable(context.Background(), &dynamodb.CreateTableInput{TableName: aws.String(name),
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: S}, {AttributeName: aws.String("platformId"), AttributeType: S}},
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
				GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("byPlatform"),
					KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("platformId"), KeyType: types.KeyTypeHash}},
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
				BillingMode: types.BillingModePayPerRequest}); err != nil {
				t.Fatal(err)
			}
			enableTTL(t, name, "expiresAt")
			env["CUSTOMERS_TABLE"] = name
		}},
		{"index of another name", "table ", "no index CUSTOMERS_BY_PLATFORM_INDEX=byCreation", func(_ *testing.T, env map[string]string) {
			env["CUSTOMERS_BY_PLATFORM_INDEX"] = "byCreation"
		}},
		{"missing KMS key", "KMS key ", "CUSTOMER_DATA_KEY_ID", func(_ *testing.T, env map[string]string) {
			env["CUSTOMER_DATA_KEY_ID"] = "alias/" + motoserver.Name("absent")
		}},
		{"KMS key disabled", "KMS key ", "the key is Disabled", func(t *testing.T, env map[string]string) {
			alias := newKey(t, true)
			k := kms.NewFromConfig(moto.Config())
			out, err := k.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(alias)})
			if err == nil { // DisableKey takes the key's id, not an alias
				_, err = k.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: out.KeyMetadata.KeyId})
			}
			if err != nil {
				t.Fatal(err)
			}
			env["CUSTOMER_DATA_KEY_ID"] = alias
		}},
		{"KMS key not rotating", "KMS key ", "automatic rotation is off", func(t *testing.T, env map[string]string) {
			env["CUSTOMER_DATA_KEY_ID"] = newKey(t, false)
		}},
		{"cursor key too short", "secret ", "CURSOR_KEY_SECRET_ID: the key has 5 characters; want at least 32", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("cursor-short")
			moto.PutSecret(t, name, `{"key":"short"}`)
			env["CURSOR_KEY_SECRET_ID"] = name
		}},
		{"cursor key not in its format", "secret ", "CURSOR_KEY_SECRET_ID: want {", func(t *testing.T, env map[string]string) {
			name := motoserver.Name("cursor-bad")
			moto.PutSecret(t, name, strings.Repeat("k", 44))
			env["CURSOR_KEY_SECRET_ID"] = name
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

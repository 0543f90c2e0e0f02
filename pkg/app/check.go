package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// CheckResult is one line of the deployment check.
type CheckResult struct {
	Item   string
	OK     bool
	Detail string // what is wrong, and the fix; or what was found
}

func (r CheckResult) String() string {
	state := "PASS"
	if !r.OK {
		state = "FAIL"
	}
	return fmt.Sprintf("%s  %-34s %s", state, r.Item, r.Detail)
}

// tableSpec is what the code expects of a table.
type tableSpec struct {
	env, name, key, ttl string
	stream              bool
}

// Check verifies a deployment as the functions will use it (kyc-link
// -check, make check): each secret loads and is in its format, each table
// exists with its key, TTL and stream, the webhook queue exists, and
// Sumsub accepts the credentials (one signed, harmless request). It reads
// the same environment as the functions.
func Check(ctx context.Context, cfg Config) []CheckResult {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil || awsCfg.Region == "" {
		return []CheckResult{{Item: "AWS configuration", Detail: fmt.Sprintf("no usable AWS configuration (set AWS_REGION and credentials): %v", err)}}
	}
	var out []CheckResult
	add := func(item string, err error, ok string) {
		if err != nil {
			out = append(out, CheckResult{Item: item, Detail: err.Error()})
			return
		}
		out = append(out, CheckResult{Item: item, OK: true, Detail: ok})
	}
	src := &awsstore.SecretsManager{Client: secretsmanager.NewFromConfig(awsCfg)}
	read := func(id string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return src.SecretString(ctx, id)
	}

	s, err := read(cfg.APITokensSecretID)
	if err == nil {
		var tokens auth.Tokens
		if tokens, err = auth.ParseTokens(s); err == nil {
			add("secret "+cfg.APITokensSecretID, nil, fmt.Sprintf("%d API tokens", len(tokens)))
		}
	}
	if err != nil {
		add("secret "+cfg.APITokensSecretID, fmt.Errorf("API_TOKENS_SECRET_ID: %w", err), "")
	}

	creds, err := func() (sumsub.Credentials, error) {
		s, err := read(cfg.SumsubSecretID)
		if err != nil {
			return sumsub.Credentials{}, err
		}
		return sumsub.ParseCredentials(s)
	}()
	switch {
	case err != nil:
		add("secret "+cfg.SumsubSecretID, fmt.Errorf("SUMSUB_SECRET_ID: %w", err), "")
	case creds.WebhookSecret == "":
		add("secret "+cfg.SumsubSecretID, fmt.Errorf("no webhookSecret: the Sumsub webhook receiver will refuse every event (add the secret of the webhook registered in Sumsub)"), "")
	default:
		add("secret "+cfg.SumsubSecretID, nil, "appToken, secretKey and webhookSecret")
		client := &sumsub.Client{BaseURL: cfg.SumsubBaseURL, HTTP: newHTTPClient(nil), Now: time.Now} // check is not traced
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := client.CheckCredentials(cctx, creds)
		cancel()
		add("Sumsub credentials", err, "a signed request to "+cfg.SumsubBaseURL+" was accepted")
	}

	s, err = read(cfg.SigningKeySecretID)
	if err == nil {
		_, err = gridhook.ParseSigningSecret(s)
	}
	add("secret "+cfg.SigningKeySecretID, err, "a P-256 signing key")

	db := dynamodb.NewFromConfig(awsCfg)
	for _, t := range []tableSpec{
		{"CUSTOMERS_TABLE", cfg.CustomersTable, "id", "", false},
		{"IDEMPOTENCY_TABLE", cfg.IdempotencyTable, "pk", "expiresAt", false},
		{"RATE_LIMIT_TABLE", cfg.RateLimitTable, "pk", "expiresAt", false},
		{"PLATFORMS_TABLE", cfg.PlatformsTable, "id", "", false},
		{"WEBHOOK_OUTBOX_TABLE", cfg.OutboxTable, "id", "expiresAt", true},
		{"WEBHOOK_DEAD_LETTER_TABLE", cfg.DeadLetterTable, "id", "", false},
	} {
		add("table "+t.name, checkTable(ctx, db, t), "key "+t.key)
	}

	if cfg.WebhookQueueURL == "" {
		add("queue", fmt.Errorf("WEBHOOK_QUEUE_URL is not set"), "")
	} else {
		_, err := sqs.NewFromConfig(awsCfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(cfg.WebhookQueueURL)})
		add("queue "+cfg.WebhookQueueURL, err, "exists")
	}
	return out
}

func checkTable(ctx context.Context, db *dynamodb.Client, t tableSpec) error {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
	if err != nil {
		return fmt.Errorf("%s=%s: %w", t.env, t.name, err)
	}
	var hash string
	for _, k := range out.Table.KeySchema {
		if k.KeyType == types.KeyTypeHash {
			hash = aws.ToString(k.AttributeName)
		}
	}
	if hash != t.key || len(out.Table.KeySchema) != 1 {
		return fmt.Errorf("%s=%s: partition key %q (and %d keys); want only %q (S)", t.env, t.name, hash, len(out.Table.KeySchema), t.key)
	}
	if t.stream && (out.Table.StreamSpecification == nil || !aws.ToBool(out.Table.StreamSpecification.StreamEnabled)) {
		return fmt.Errorf("%s=%s: no stream; the webhook relay reads it (StreamViewType NEW_IMAGE)", t.env, t.name)
	}
	if t.ttl != "" {
		ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.name)})
		if err != nil {
			return fmt.Errorf("%s=%s: TTL: %w", t.env, t.name, err)
		}
		d := ttl.TimeToLiveDescription
		if d == nil || aws.ToString(d.AttributeName) != t.ttl ||
			(d.TimeToLiveStatus != types.TimeToLiveStatusEnabled && d.TimeToLiveStatus != types.TimeToLiveStatusEnabling) {
			return fmt.Errorf("%s=%s: TTL is not enabled on %q (records would never expire)", t.env, t.name, t.ttl)
		}
	}
	return nil
}

// CheckMain is kyc-link -check (make check): it verifies a deployment's
// secrets, tables, queue and Sumsub credentials from the same environment
// the functions read, prints a line per item and returns the exit code: 1
// if any item failed, 2 if the configuration cannot be read.
func CheckMain() int {
	cfg, err := ConfigFromEnv(os.Getenv, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	failed := 0
	for _, r := range Check(context.Background(), cfg) {
		fmt.Println(r)
		if !r.OK {
			failed++
		}
	}
	if failed > 0 {
		fmt.Printf("%d check(s) failed\n", failed)
		return 1
	}
	fmt.Println("all checks passed")
	return 0
}

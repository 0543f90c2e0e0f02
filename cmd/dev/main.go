// Command dev (make dev) runs the whole service locally with real DynamoDB,
// Streams, SQS and Secrets Manager semantics, and no AWS account: it starts
// moto_server, creates every table and queue template.yaml declares (with
// their streams and TTL) and the secrets and data of the embedded seed, and
// serves the link route, the Sumsub webhook receiver, the sandbox pages and
// the platform inbox on 127.0.0.1:$PORT with KYC_BACKEND=aws, delivering
// webhooks through the outbox stream and the queue as in AWS.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/samtemplate"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	slog.SetDefault(logger)
	if err := run(logger); err != nil {
		logger.Error("dev stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path := os.Getenv("KYC_TEMPLATE")
	if path == "" {
		path = "template.yaml"
	}
	tpl, err := samtemplate.Load(path)
	if err != nil {
		return fmt.Errorf("run make dev from the repository root (or set KYC_TEMPLATE): %w", err)
	}
	moto, err := motoserver.New()
	if err != nil {
		return err
	}
	defer moto.Stop()
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	publicURL := app.LocalURL(ln)

	seed, err := app.ParseSeed(app.DefaultSeed())
	if err != nil {
		return err
	}
	// The signing key of KYC_SIGNING_KEY_FILE (make dev: the same file as
	// make run), or one made for this run.
	local, err := app.ConfigFromEnv(os.Getenv, false)
	if err != nil {
		return err
	}
	signing, err := app.LocalSigningSecret(local, logger)
	if err != nil {
		return err
	}
	env, err := provision(ctx, moto, tpl, seed, publicURL, signing)
	if err != nil {
		return err
	}
	for k, v := range env {
		os.Setenv(k, v)
	}
	cfg, err := app.ConfigFromEnv(os.Getenv, false)
	if err != nil {
		return err
	}
	cfg.PublicURL = publicURL
	s, err := app.Build(ctx, cfg, logger, app.AllInOne)
	if err != nil {
		return err
	}
	s.Prime(ctx)
	logger.Info("listening", "url", publicURL, "backend", "aws (moto "+moto.URL+")", "provider", cfg.Provider)
	fmt.Fprintf(os.Stderr, "\nkyc-link dev is up on %s: DynamoDB, Streams, SQS and Secrets Manager in moto at %s. Try:\n\n  %s\n\n"+
		"Open the kycUrl, choose Approve, Reject or Hold, and watch %s/sandbox/inbox/\n\n",
		publicURL, moto.URL, seed.Curl(publicURL), publicURL)
	fmt.Fprintf(os.Stderr, "%s\n", s.SigningKeyBanner(ctx))
	return s.Serve(ctx, ln)
}

// provision creates the template's tables and queues in moto, the secrets
// and the seed's customers and platforms, and returns the environment that
// wires them, named by each function's Environment in the template.
func provision(ctx context.Context, moto *motoserver.Server, tpl *samtemplate.Template, seed app.Seed, publicURL, signing string) (map[string]string, error) {
	db, q, sm := moto.DynamoDB(), moto.SQS(), moto.SecretsManager()
	names := map[string]string{} // logical id -> name or URL
	for _, t := range tpl.Tables {
		in := &dynamodb.CreateTableInput{
			TableName:            aws.String(t.LogicalID),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(t.HashKey), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(t.HashKey), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		}
		if t.Stream {
			in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage}
		}
		if _, err := db.CreateTable(ctx, in); err != nil {
			return nil, fmt.Errorf("create table %s: %w", t.LogicalID, err)
		}
		if t.TTL != "" {
			if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(t.LogicalID),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTL), Enabled: aws.Bool(true)}}); err != nil {
				return nil, fmt.Errorf("TTL of %s: %w", t.LogicalID, err)
			}
		}
		names[t.LogicalID] = t.LogicalID
	}
	for _, id := range tpl.Queues {
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("create queue %s: %w", id, err)
		}
		names[id] = aws.ToString(out.QueueUrl)
	}

	secrets := map[string]string{
		"ApiTokensSecretArn":         string(seed.APITokens),
		"SumsubSecretArn":            string(seed.Sumsub),
		"WebhookSigningKeySecretArn": signing,
	}
	for param, value := range secrets {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(param), SecretString: aws.String(value)}); err != nil {
			return nil, fmt.Errorf("create secret %s: %w", param, err)
		}
		names[param] = param
	}
	for _, item := range seed.CustomerItems() {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("CustomersTable"), Item: item}); err != nil {
			return nil, fmt.Errorf("seed customer: %w", err)
		}
	}
	for _, p := range seed.Platforms {
		url := p.WebhookURL
		if url == "" {
			url = strings.TrimRight(publicURL, "/") + sandbox.InboxPrefix + p.ID
		}
		item := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: p.ID}, "webhookUrl": &types.AttributeValueMemberS{Value: url}}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("PlatformsTable"), Item: item}); err != nil {
			return nil, fmt.Errorf("seed platform: %w", err)
		}
	}

	// Every variable a function's Environment points at a table, queue or
	// secret gets that resource's local name.
	env := map[string]string{
		"KYC_BACKEND": "aws", "KYC_PROVIDER": "sandbox", "WEBHOOK_ALLOW_LOOPBACK": "true",
		"AWS_ENDPOINT_URL": moto.URL, "AWS_REGION": motoserver.Region,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
	}
	for _, vars := range tpl.Env {
		for k, ref := range vars {
			if name, ok := names[ref]; ok {
				env[k] = name
			}
		}
	}
	for _, must := range []string{"CUSTOMERS_TABLE", "IDEMPOTENCY_TABLE", "WEBHOOK_OUTBOX_TABLE", "WEBHOOK_QUEUE_URL", "PLATFORMS_TABLE"} {
		if env[must] == "" {
			return nil, errors.New("template.yaml wires no " + must)
		}
	}
	return env, nil
}

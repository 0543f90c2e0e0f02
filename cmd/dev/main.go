// Command dev (make dev) runs the whole service locally with real DynamoDB,
// Streams, SQS, Secrets Manager and KMS semantics, and no AWS account: it
// starts moto_server, creates every table, queue, KMS key and generated
// secret template.yaml declares (with the tables' indexes, streams and TTL)
// and the secrets and data of the embedded seed, and serves the link route,
// the platform API, the Sumsub webhook receiver, the sandbox pages and the
// platform inbox on 127.0.0.1:$PORT with KYC_BACKEND=aws, delivering
// webhooks through the outbox stream and the queue as in AWS, and handing
// each complete verification to the provider through the verifications
// stream, the submission queue and its worker (the sandbox provider's
// review, which decides by the customer's name a moment later).
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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/internal/samtemplate"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
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
	fmt.Fprintf(os.Stderr, "\nkyc-link dev is up on %s: DynamoDB, Streams, SQS, Secrets Manager, KMS and S3 in moto at %s. Try:\n\n  %s\n\n"+
		"Open the kycUrl, choose Approve, Reject or Hold, and watch %s/sandbox/inbox/\n\n",
		publicURL, moto.URL, seed.Curl(publicURL), publicURL)
	fmt.Fprintf(os.Stderr, "%s\n", s.SigningKeyBanner(ctx))
	return s.Serve(ctx, ln)
}

// provision creates the template's tables (with their indexes, streams
// and TTL), queues and KMS keys (with their aliases) in moto, the secrets
// (the stack's own generated as Secrets Manager would) and the seed's
// customers and platforms, and returns the environment that wires them,
// named by each function's Environment in the template.
// devStack is the stack name make dev stands in for (in the template's
// ${AWS::StackName}): the KMS alias is then the configuration's default,
// alias/kyc-link-customer-data.
const devStack = "kyc-link"

// devEmailDomain is the SES identity make dev sends codes from (a
// reserved name: nothing leaves moto).
const devEmailDomain = "kyc-link.test"

func provision(ctx context.Context, moto *motoserver.Server, tpl *samtemplate.Template, seed app.Seed, publicURL, signing string) (map[string]string, error) {
	st, err := motostack.Provision(ctx, moto, tpl, motostack.Options{Stack: devStack, Secrets: map[string]string{
		"ApiTokensSecretArn":         string(seed.APITokens),
		"SumsubSecretArn":            string(seed.Sumsub),
		"WebhookSigningKeySecretArn": signing,
	}})
	if err != nil {
		return nil, err
	}
	db := moto.DynamoDB()
	for _, item := range seed.CustomerItems() {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Names["CustomersTable"]), Item: item}); err != nil {
			return nil, fmt.Errorf("seed customer: %w", err)
		}
	}
	for _, p := range seed.Platforms {
		url := p.WebhookURL
		if url == "" {
			url = strings.TrimRight(publicURL, "/") + sandbox.InboxPrefix + p.ID
		}
		// Configured now, as PATCH /config would have: GET and PATCH
		// /config answer createdAt and updatedAt.
		now := time.Now()
		item := awsstore.PlatformItem(kyc.PlatformConfig{PlatformID: p.ID, WebhookEndpoint: url, CreatedAt: now, UpdatedAt: now})
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Names["PlatformsTable"]), Item: item}); err != nil {
			return nil, fmt.Errorf("seed platform: %w", err)
		}
	}

	// Contact codes go out through SES and SNS on moto (the inbox shows
	// each), from an address of an identity moto verifies at once.
	if _, err := sesv2.NewFromConfig(moto.Config()).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{
		EmailIdentity: aws.String(devEmailDomain)}); err != nil {
		return nil, fmt.Errorf("SES identity: %w", err)
	}

	// Every variable a function's Environment points at a table, queue or
	// secret has that resource's local name.
	env := st.Env
	env["KYC_BACKEND"], env["KYC_PROVIDER"], env["WEBHOOK_ALLOW_LOOPBACK"] = "aws", "sandbox", "true"
	if os.Getenv("CONTACT_EMAIL_FROM") == "" {
		env["CONTACT_EMAIL_FROM"] = "codes@" + devEmailDomain
	}
	for _, must := range []string{"CUSTOMERS_TABLE", "IDEMPOTENCY_TABLE", "WEBHOOK_OUTBOX_TABLE", "WEBHOOK_QUEUE_URL", "PLATFORMS_TABLE",
		"CUSTOMERS_BY_PLATFORM_INDEX", "CUSTOMER_DATA_KEY_ID", "CURSOR_KEY_SECRET_ID", "IDEMPOTENCY_KEY_SECRET_ID",
		"CONTACT_CODES_TABLE", "CONTACT_CODE_KEY_SECRET_ID",
		"DOCUMENTS_TABLE", "DOCUMENTS_BUCKET", "VERIFICATIONS_TABLE", "SUBMISSION_QUEUE_URL"} {
		if env[must] == "" {
			return nil, errors.New("template.yaml wires no " + must)
		}
	}
	return env, nil
}

// Command requestpath runs one warm link request (or, with -decision, one
// warm Sumsub decision through the receiver function) through the Lambda entry
// (aws backend on moto_server, the Sumsub provider against its fake) in a
// binary built with coverage, and writes the coverage counters before and
// after it, so scripts/request-path.sh can list the code that request ran.
// It is a measurement tool, not part of the service.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/coverage"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

func main() {
	out := flag.String("out", "", "directory for the before/ and after/ counters")
	keyed := flag.Bool("keyed", false, "send an Idempotency-Key (a first request)")
	decision := flag.Bool("decision", false, "measure a Sumsub decision through the receiver function instead")
	flag.Parse()
	if err := run(*out, *keyed, *decision); err != nil {
		fmt.Fprintln(os.Stderr, "requestpath:", err)
		os.Exit(1)
	}
}

func run(out string, keyed, decision bool) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	ctx := context.Background()
	moto, err := motoserver.New()
	if err != nil {
		return err
	}
	defer moto.Stop()
	creds := sumsub.Credentials{AppToken: "sbx:rp", SecretKey: "rp-secret-key"}
	fake := sumsubtest.NewServer(creds)
	defer fake.Close()
	tpl, err := motostack.Template()
	if err != nil {
		return err
	}
	// The stack's tables and secrets as template.yaml declares them.
	st, err := motostack.Provision(ctx, moto, tpl, motostack.Options{Secrets: map[string]string{
		"ApiTokensSecretArn": `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"` + auth.DigestHex("s") + `"}]}`,
		"SumsubSecretArn":    `{"appToken":"sbx:rp","secretKey":"rp-secret-key","webhookSecret":"rp-webhook-secret"}`,
	}})
	if err != nil {
		return err
	}
	db := moto.DynamoDB()
	for _, id := range []string{"c1", "c2", "c3"} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Names["CustomersTable"]),
			Item: awsstore.CustomerItem(kyc.Customer{ID: id, PlatformID: "p", Type: kyc.Individual})}); err != nil {
			return err
		}
	}
	env := st.Env
	env["KYC_BACKEND"], env["KYC_PROVIDER"], env["SUMSUB_BASE_URL"] = "aws", "sumsub", fake.URL
	for k, v := range env {
		os.Setenv(k, v)
	}
	cfg, err := app.ConfigFromEnv(os.Getenv, true)
	if err != nil {
		return err
	}
	if decision {
		return measureDecision(ctx, cfg, out)
	}
	a, err := app.Build(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.LinkFunction)
	if err != nil {
		return err
	}
	a.Prime(ctx)
	invoke := a.Lambda().Invoke
	send := func(key string) error {
		ev := events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/customers/c1/kyc-link", Body: `{}`,
			Headers:        map[string]string{"Authorization": "Basic dG9rOnM=", "Content-Type": "application/json"},
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "rp", Stage: "prod"}}
		if key != "" {
			ev.Headers["Idempotency-Key"] = key
		}
		payload, _ := json.Marshal(ev)
		resp, err := invoke(ctx, payload)
		raw, _ := json.Marshal(resp)
		if err != nil || !strings.Contains(string(raw), `"statusCode":201`) {
			return fmt.Errorf("invoke = %s, %v", raw, err)
		}
		return nil
	}
	warm, measured := "", ""
	if keyed {
		warm, measured = "rp-warm", "rp-measured"
	}
	if err := send(warm); err != nil {
		return err
	}
	if err := write(out + "/before"); err != nil {
		return err
	}
	if err := send(measured); err != nil {
		return err
	}
	return write(out + "/after")
}

// measureDecision sends Sumsub's GREEN for c1 (warm), then for c2
// (measured), signed as Sumsub signs, through the receiver's Lambda entry.
func measureDecision(ctx context.Context, cfg app.Config, out string) error {
	a, err := app.Build(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.ReceiverFunction)
	if err != nil {
		return err
	}
	a.Prime(ctx)
	invoke := a.Lambda().Invoke
	send := func(customer string) error {
		body := `{"type":"applicantReviewed","externalUserId":"` + customer + `","createdAtMs":"` +
			sumsub.FormatCreatedAt(time.Now()) + `","reviewResult":{"reviewAnswer":"GREEN"}}`
		digest, err := sumsub.WebhookDigest("rp-webhook-secret", "", []byte(body))
		if err != nil {
			return err
		}
		ev := events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/webhooks/sumsub", Body: body,
			Headers:        map[string]string{"X-Payload-Digest": digest, "Content-Type": "application/json"},
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "rp-" + customer, Stage: "prod"}}
		payload, _ := json.Marshal(ev)
		resp, err := invoke(ctx, payload)
		raw, _ := json.Marshal(resp)
		if err != nil || !strings.Contains(string(raw), `"statusCode":200`) || !strings.Contains(string(raw), `applied`) {
			return fmt.Errorf("invoke = %s, %v", raw, err)
		}
		return nil
	}
	if err := send("c1"); err != nil {
		return err
	}
	if err := write(out + "/before"); err != nil {
		return err
	}
	if err := send("c2"); err != nil {
		return err
	}
	return write(out + "/after")
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := coverage.WriteMetaDir(dir); err != nil {
		return err
	}
	return coverage.WriteCountersDir(dir)
}

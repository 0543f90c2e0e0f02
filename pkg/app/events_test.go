package app_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// fixtures returns the event files of dir with the status each must
// answer (dir/expected-status.tsv); a fixture without one fails t.
func fixtures(t *testing.T, dir string, atLeast int) map[string]int {
	t.Helper()
	want := expectedStatuses(t, dir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) < atLeast {
		t.Fatalf("only %d fixtures in %s", len(files), dir)
	}
	out := map[string]int{}
	for _, f := range files {
		status, ok := want[filepath.Base(f)]
		if !ok {
			t.Fatalf("%s has no expected status in %s/expected-status.tsv", f, dir)
		}
		out[f] = status
	}
	return out
}

// lambdaApp is the app as Lambda runs it, on the embedded data, with env.
func lambdaApp(t testing.TB, env map[string]string) *app.Service {
	return lambdaEntry(t, env, app.LinkFunction)
}

// lambdaEntry is entry e as Lambda runs it, on the embedded data, with env.
func lambdaEntry(t testing.TB, env map[string]string, e app.Entry) *app.Service {
	t.Helper()
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.InLambda = true
	a, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), e)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// expectedStatuses reads dir/expected-status.tsv.
func expectedStatuses(t *testing.T, dir string) map[string]int {
	f, err := os.Open(filepath.Join(dir, "expected-status.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		name, status, _ := strings.Cut(line, "\t")
		n, err := strconv.Atoi(status)
		if err != nil {
			t.Fatalf("expected-status.tsv: %q", line)
		}
		want[name] = n
	}
	return want
}

// TestEventFixtures sends every events/*.json through the exact function
// Lambda calls, on the embedded local data, and checks its status.
func TestEventFixtures(t *testing.T) {
	// Every fixture is one platform's link: more than its default burst.
	env := map[string]string{"PLATFORM_RATE_BURST": "1000", "PLATFORM_RATE_LIMIT": "1000", "SUMSUB_RATE_LIMIT": "1000"}
	invoke := lambdaApp(t, env).Lambda().Invoke
	for f, status := range fixtures(t, "../../events", 7) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			resp := invokeHTTP(t, invoke, payload)
			if resp.StatusCode != status {
				t.Fatalf("status %d; want %d; body %s", resp.StatusCode, status, resp.Body)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body is not JSON: %s", resp.Body)
			}
			if status == 201 {
				if body["kycUrl"] == nil || body["expiresAt"] == nil || body["provider"] != "SUMSUB" {
					t.Fatalf("201 body = %v", body)
				}
			} else if body["status"] != float64(status) || body["code"] == nil || body["message"] == nil {
				t.Fatalf("error body = %v", body)
			}
		})
	}
}

// lambdaResponse is either payload version's response.
type lambdaResponse struct {
	StatusCode int
	Header     http.Header
	Body       string
}

// invokeHTTP calls the Lambda handler with an HTTP event, which must not
// fail, and checks the answer against the contract.
func invokeHTTP(t *testing.T, invoke func(context.Context, json.RawMessage) (any, error), payload []byte) lambdaResponse {
	return invokeChecked(t, invoke, payload, contract.CheckResponse)
}

// invokeChecked is invokeHTTP with the contract check of another route.
func invokeChecked(t *testing.T, invoke func(context.Context, json.RawMessage) (any, error), payload []byte,
	check func(int, http.Header, []byte) error) lambdaResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invocation error for an HTTP event: %v", err)
	}
	raw, _ := json.Marshal(out)
	var resp struct {
		StatusCode int                 `json:"statusCode"`
		Headers    map[string]string   `json:"headers"`
		MultiValue map[string][]string `json:"multiValueHeaders"`
		Body       string              `json:"body"`
	}
	json.Unmarshal(raw, &resp)
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValue {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	if err := check(resp.StatusCode, h, []byte(resp.Body)); err != nil {
		t.Fatal(err)
	}
	return lambdaResponse{StatusCode: resp.StatusCode, Header: h, Body: resp.Body}
}

func TestInvokeRejectsNonHTTPEvents(t *testing.T) {
	cfg, _ := app.ConfigFromEnv(func(string) string { return "" }, false)
	a, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.LinkFunction)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{`{}`, `[]`, `"x"`, `{"Records":[]}`, `not json`} {
		if _, err := a.Lambda().Invoke(context.Background(), json.RawMessage(p)); err == nil {
			t.Errorf("Invoke(%s) succeeded; want an error", p)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	local, err := app.ConfigFromEnv(env(nil), false)
	if err != nil {
		t.Fatal(err)
	}
	want := app.Config{Port: "3000", Backend: "memory", Provider: "sandbox",
		APITokensSecretID: "kyc-link/api-tokens", SumsubSecretID: "kyc-link/sumsub",
		CustomersTable: "customers", IdempotencyTable: "kyc-link-idempotency",
		SumsubBaseURL: "https://api.sumsub.com", LevelIndividual: "basic-kyc-level", LevelBusiness: "basic-kyb-level",
		LinkTTL: 30 * time.Minute, RequestTimeout: 10 * time.Second,
		PlatformsTable: "platforms", OutboxTable: "webhook-outbox", DeadLetterTable: "webhook-dead-letters",
		SigningKeySecretID: "kyc-link/webhook-signing-key", WebhookRetryBase: time.Minute, WebhookRetryFor: 168 * time.Hour,
		WebhookAttemptTimeout: 10 * time.Second,
		// Local mode on embedded data delivers to its own inbox page.
		WebhookAllowLoopback: true,
		RateLimitTable:       "kyc-link-rate-limits", PlatformRateLimit: 2, PlatformRateBurst: 10, SumsubRateLimit: 8,
		CustomersByPlatformIndex: "byPlatform", CustomerDataKeyID: "alias/kyc-link-customer-data",
		CursorKeySecretID: "kyc-link/cursor-key", IdempotencyKeySecretID: "kyc-link/idempotency-key", UmaDomain: "kyc-link.invalid",
		// Contact verification: the EEA verifies email and phone; no
		// email sender until one is configured.
		ContactCodesTable: "kyc-link-contact-codes", ContactCodeKeySecretID: "kyc-link/contact-code-key",
		ContactRules: kyc.ContactRules{Regions: kyc.EEARegions(), Channels: []kyc.Channel{kyc.ChannelEmail, kyc.ChannelPhone}},
		// Documents and verifications; no DOCUMENTS_DIR: files in memory.
		DocumentsTable: "kyc-link-documents", DocumentsByPlatformIndex: "byPlatform", VerificationsTable: "kyc-link-verifications",
		VerificationsByPlatformIndex: "byPlatform", VerificationsByCustomerIndex: "byCustomer", DocumentsBucket: "kyc-link-documents",
		// The submission's jobs: no queue until one is configured; a
		// failed job runs again after 30 s, doubling.
		SubmissionRetryBase: 30 * time.Second,
		// No OTLP endpoint: no spans.
		ServiceName: "kyc-link"}
	if diff := cmp.Diff(want, local); diff != "" {
		t.Errorf("local defaults (-want +got):\n%s", diff)
	}
	lambda, err := app.ConfigFromEnv(env(nil), true)
	if err != nil {
		t.Fatal(err)
	}
	want.InLambda, want.Backend, want.Provider, want.WebhookAllowLoopback = true, "aws", "sumsub", false
	if diff := cmp.Diff(want, lambda); diff != "" {
		t.Errorf("Lambda defaults (-want +got):\n%s", diff)
	}
	traced, err := app.ConfigFromEnv(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318",
		"AWS_LAMBDA_FUNCTION_NAME": "stack-KycLinkFunction-x"}), true)
	if err != nil || traced.TracesEndpoint != "http://localhost:4318/v1/traces" || traced.ServiceName != "stack-KycLinkFunction-x" {
		t.Errorf("with an OTLP endpoint: %q as %q (%v); want the traces URL, named for the function", traced.TracesEndpoint, traced.ServiceName, err)
	}
	for _, bad := range []map[string]string{
		{"KYC_LINK_TTL": "soon"}, {"KYC_LINK_TTL": "10s"}, {"KYC_LINK_TTL": "48h"}, {"KYC_REQUEST_TIMEOUT": "-1s"},
		{"KYC_BACKEND": "postgres"}, {"KYC_PROVIDER": "onfido"},
		{"WEBHOOK_RETRY_BASE": "soon"}, {"WEBHOOK_RETRY_FOR": "0s"}, {"WEBHOOK_ALLOW_LOOPBACK": "yes"}, {"SUBMISSION_RETRY_BASE": "0s"},
		{"PLATFORM_RATE_LIMIT": "0"}, {"PLATFORM_RATE_BURST": "2.5"}, {"SUMSUB_RATE_LIMIT": "fast"},
	} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			if _, err := app.ConfigFromEnv(env(bad), false); err == nil {
				t.Errorf("ConfigFromEnv(%v) accepted", bad)
			}
		})
	}
}

// TestIdempotencyKeyWhitespaceThroughLambda: API Gateway events keep the
// whitespace around a header value that net/http strips locally; the key is
// the same either way, through v1 and v2 events alike.
func TestIdempotencyKeyWhitespaceThroughLambda(t *testing.T) {
	a := lambdaApp(t, nil)
	const path = "/customers/Customer:019542f5-b3e7-1d02-0000-000000000001/kyc-link"
	authz := "Basic " + base64.StdEncoding.EncodeToString([]byte("demo-token:demo-secret-not-for-production"))
	v1 := func(key string) []byte {
		b, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: path, Body: "{}",
			Headers: map[string]string{"Authorization": authz, "Idempotency-Key": key}})
		return b
	}
	v2 := func(key string) []byte {
		b, _ := json.Marshal(events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path, Body: "{}",
			Headers: map[string]string{"authorization": authz, "idempotency-key": key},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path}}})
		return b
	}
	first := invokeHTTP(t, a.Lambda().Invoke, v1("ws-key"))
	if first.StatusCode != 201 {
		t.Fatalf("first = %d %s", first.StatusCode, first.Body)
	}
	for name, payload := range map[string][]byte{
		"v1 padded": v1("  ws-key  "), "v2 padded": v2("\tws-key "), "v2 plain": v2("ws-key"),
	} {
		r := invokeHTTP(t, a.Lambda().Invoke, payload)
		if r.StatusCode != 201 || r.Header.Get("Idempotent-Replayed") != "true" || r.Body != first.Body {
			t.Errorf("%s = %d replayed=%q; want the replay of the first", name, r.StatusCode, r.Header.Get("Idempotent-Replayed"))
		}
	}
}

// TestSumsubWebhookEventFixtures sends every events/sumsub-webhook/*.json
// through the receiver function's Lambda entry, on the embedded data (whose
// Sumsub secret holds the webhook secret the fixtures are signed with).
func TestSumsubWebhookEventFixtures(t *testing.T) {
	for f, status := range fixtures(t, "../../events/sumsub-webhook", 5) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			a := lambdaEntry(t, nil, app.ReceiverFunction)
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			resp := invokeChecked(t, a.Lambda().Invoke, payload, contract.CheckWebhookResponse)
			if resp.StatusCode != status {
				t.Fatalf("status %d; want %d; body %s", resp.StatusCode, status, resp.Body)
			}
		})
	}
}

// TestAWSBackendNeedsARegion: without a region the aws backend stops at
// start, naming AWS_REGION, instead of failing every request.
func TestAWSBackendNeedsARegion(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cfg, err := app.ConfigFromEnv(func(k string) string { return map[string]string{"KYC_BACKEND": "aws"}[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.LinkFunction)
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("New without a region = %v; want an error naming AWS_REGION", err)
	}
}

// TestEveryFixtureUnderTheGridBasePath: behind a custom domain's base-path
// mapping API Gateway passes the mapping in the event's path
// (/grid/2025-10-13/customers/…); every fixture of both functions answers
// the same with its paths moved under it as without.
func TestEveryFixtureUnderTheGridBasePath(t *testing.T) {
	env := map[string]string{"PLATFORM_RATE_BURST": "1000", "PLATFORM_RATE_LIMIT": "1000", "SUMSUB_RATE_LIMIT": "1000"}
	links := lambdaApp(t, env).Lambda().Invoke
	for _, dir := range []string{"../../events", "../../events/sumsub-webhook"} {
		for f, status := range fixtures(t, dir, 5) {
			t.Run(filepath.Base(dir)+"/"+filepath.Base(f), func(t *testing.T) {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				var ev map[string]any
				if err := json.Unmarshal(raw, &ev); err != nil {
					t.Fatal(err)
				}
				stage, _ := ev["requestContext"].(map[string]any)["stage"].(string)
				under := func(m map[string]any, key string, withStage bool) {
					p, ok := m[key].(string)
					if !ok || strings.HasPrefix(p, httpapi.GridBasePath+"/") {
						return
					}
					if withStage && stage != "" && stage != "$default" {
						// Through the execute-api URL a path carries a named
						// stage; through the domain, the mapping instead.
						p = strings.TrimPrefix(p, "/"+stage)
					}
					m[key] = httpapi.GridBasePath + p
				}
				under(ev, "path", false)
				under(ev, "rawPath", true)
				if rc, ok := ev["requestContext"].(map[string]any); ok {
					under(rc, "path", true)
					if h, ok := rc["http"].(map[string]any); ok {
						under(h, "path", true)
					}
				}
				payload, _ := json.Marshal(ev)
				invoke, check := links, contract.CheckResponse
				if strings.HasSuffix(dir, "sumsub-webhook") {
					invoke, check = lambdaEntry(t, nil, app.ReceiverFunction).Lambda().Invoke, contract.CheckWebhookResponse
				}
				if resp := invokeChecked(t, invoke, payload, check); resp.StatusCode != status {
					t.Fatalf("under %s: status %d; want %d as without; body %s", httpapi.GridBasePath, resp.StatusCode, status, resp.Body)
				}
			})
		}
	}
}

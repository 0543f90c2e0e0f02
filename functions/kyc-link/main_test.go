//go:build integration

package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/grid-kyc/kyc-link/internal/e2e"
	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

var binary string

// The tests run the function's own Lambda build (its Makefile tag:
// pkg/app/clients.go), tracing included (its tests need it): under the
// RIE it is what is deployed, and locally it still serves make run.
func TestMain(m *testing.M) { os.Exit(e2e.Main(m, "kyc-link", &binary, "lambda.norpc", "lambda_link")) }

// start runs the binary in local mode with env and returns its base URL and
// its log.
func start(t *testing.T, env ...string) (string, *logbuf.Buffer) {
	t.Helper()
	u, _, logs := e2e.Start(t, binary, env...)
	return u, logs
}

func call(t *testing.T, method, url, auth, body string, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"raw": string(raw)}
	}
	return resp, m
}

func basicAuth(id, secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(id, secret)
	return req.Header.Get("Authorization")
}

// TestAWSModeAgainstMotoAndFakeSumsub runs the real binary with the AWS
// backend (moto_server) and the Sumsub provider (the signature-checking fake).
func TestAWSModeAgainstMotoAndFakeSumsub(t *testing.T) {
	moto := motoserver.Start(t)
	creds := sumsub.Credentials{AppToken: "sbx:e2e-token", SecretKey: "e2e-secret-key"}
	fake := sumsubtest.NewServer(creds)
	defer fake.Close()

	st := motostack.New(t, moto, motostack.Options{Secrets: map[string]string{
		"ApiTokensSecretArn": `{"tokens":[{"id":"tok-e2e","platformId":"platform-e2e","secretSha256":"` + auth.DigestHex("e2e-client-secret") + `"}]}`,
		"SumsubSecretArn":    `{"appToken":"sbx:e2e-token","secretKey":"e2e-secret-key"}`,
	}})
	_, err := moto.DynamoDB().PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(st.Names["CustomersTable"]),
		Item: awsstore.CustomerItem(kyc.Customer{ID: "Customer:e2e-1", PlatformID: "platform-e2e", Type: kyc.Business,
			KYCStatus: kyc.StatusUnverified, Email: "e2e@example.com"}),
	})
	if err != nil {
		t.Fatal(err)
	}

	base, logs := start(t, append(st.Function("KycLinkFunction"),
		"KYC_BACKEND=aws", "KYC_PROVIDER=sumsub",
		"SUMSUB_BASE_URL="+fake.URL, "SUMSUB_LEVEL_BUSINESS=e2e-kyb", "KYC_LINK_TTL=15m",
	)...)
	good := basicAuth("tok-e2e", "e2e-client-secret")
	url := base + "/customers/Customer:e2e-1/kyc-link"

	resp, body := call(t, "POST", url, good, `{"redirectUri":"https://app.example.com/done"}`, "Idempotency-Key", "e2e-key")
	if resp.StatusCode != 201 || !strings.HasPrefix(body["kycUrl"].(string), fake.URL+"/websdk/p/") || !strings.HasPrefix(body["token"].(string), "_act-sbx-jwt-") {
		t.Fatalf("201 expected: %d %v", resp.StatusCode, body)
	}
	sdkToken := body["token"].(string)
	exp, _ := time.Parse(time.RFC3339, body["expiresAt"].(string))
	if d := time.Until(exp); d < 14*time.Minute || d > 16*time.Minute {
		t.Fatalf("expiresAt %v is not 15m away", exp)
	}
	for _, r := range fake.Accepted() {
		if r.Body["levelName"] != "e2e-kyb" || r.Body["userId"] != "Customer:e2e-1" {
			t.Fatalf("Sumsub got %v", r.Body)
		}
	}
	replay, again := call(t, "POST", url, good, `{ "redirectUri": "https://app.example.com/done" }`, "Idempotency-Key", "e2e-key")
	if replay.StatusCode != 201 || replay.Header.Get("Idempotent-Replayed") != "true" || again["kycUrl"] != body["kycUrl"] {
		t.Fatalf("replay = %d %v %v", replay.StatusCode, replay.Header, again)
	}
	if fake.Count(sumsubtest.LinkPath) != 1 || fake.Rejected() != 0 {
		t.Fatalf("Sumsub link calls %d, rejected %d", fake.Count(sumsubtest.LinkPath), fake.Rejected())
	}
	if resp, body := call(t, "POST", url, basicAuth("tok-e2e", "nope"), `{}`); resp.StatusCode != 401 || body["code"] != "UNAUTHORIZED" {
		t.Fatalf("wrong secret = %d %v", resp.StatusCode, body)
	}
	if resp, body := call(t, "POST", base+"/customers/Customer:none/kyc-link", good, `{}`); resp.StatusCode != 404 || body["code"] != "USER_NOT_FOUND" {
		t.Fatalf("unknown customer = %d %v", resp.StatusCode, body)
	}
	// Sumsub down: 503 with Retry-After, and the key is free for the retry.
	fake.SetFail(func(w http.ResponseWriter, r *http.Request) bool {
		sumsubtest.WriteError(w, 502, 0, "injected")
		return true
	})
	resp, body = call(t, "POST", url, good, `{}`, "Idempotency-Key", "e2e-key-2")
	if resp.StatusCode != 503 || body["code"] != "SERVICE_UNAVAILABLE" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("Sumsub down = %d %v", resp.StatusCode, body)
	}
	fake.SetFail(nil)
	if resp, body := call(t, "POST", url, good, `{}`, "Idempotency-Key", "e2e-key-2"); resp.StatusCode != 201 || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after outage = %d %v", resp.StatusCode, body)
	}
	// Sumsub refusing our credentials is logged loudly as our fault.
	fake.SetFail(func(w http.ResponseWriter, r *http.Request) bool {
		sumsubtest.WriteError(w, 401, 4003, "App-token-signature mismatch")
		return true
	})
	if resp, body := call(t, "POST", url, good, `{}`); resp.StatusCode != 500 || body["code"] != "INTERNAL_ERROR" {
		t.Fatalf("Sumsub 401 = %d %v; want 500", resp.StatusCode, body)
	}
	time.Sleep(100 * time.Millisecond) // let the last log line arrive
	out := logs.String()
	if !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, "4003") {
		t.Errorf("the Sumsub 401 was not logged as an error:\n%s", out)
	}
	for _, secret := range []string{"e2e-client-secret", "e2e-secret-key", "sbx:e2e-token", "e2e@example.com", sdkToken} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

// TestLocalModeSandboxFlow runs the binary as `make run` does, on the
// embedded seed, and clicks through the sandbox page.
func TestLocalModeSandboxFlow(t *testing.T) {
	base, _ := start(t)
	good := basicAuth("demo-token", "demo-secret-not-for-production")
	resp, body := call(t, "POST", base+"/customers/Customer:019542f5-b3e7-1d02-0000-000000000001/kyc-link", good,
		`{"redirectUri":"http://localhost:8080/done"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	page := body["kycUrl"].(string)
	if !strings.HasPrefix(page, base+"/sandbox/kyc/") {
		t.Fatalf("sandbox link %q is not served by this process", page)
	}
	if resp, body := call(t, "GET", page, "", ""); resp.StatusCode != 200 || !strings.Contains(body["raw"].(string), "SANDBOX") {
		t.Fatalf("sandbox page = %d %v", resp.StatusCode, body)
	}
	// Completing says where it sends the user, and sends them there.
	if resp, body := call(t, "POST", page, "", ""); resp.StatusCode != 200 ||
		!strings.Contains(body["raw"].(string), `<meta http-equiv="refresh" content="2;url=http://localhost:8080/done">`) ||
		!strings.Contains(body["raw"].(string), `Continuing to <a href="http://localhost:8080/done">localhost:8080</a>`) {
		t.Fatalf("completing = %d %v", resp.StatusCode, body)
	}
	if resp, _ := call(t, "GET", page, "", ""); resp.StatusCode != 404 {
		t.Fatalf("a used link = %d; want 404 (single use)", resp.StatusCode)
	}

	// The other half: the tester rejects, the platform's inbox shows the
	// signed webhooks (verified against Grid's key). Deliveries run side by
	// side, so their order of arrival is not promised.
	resp, body = call(t, "POST", base+"/customers/Customer:019542f5-b3e7-1d02-0000-000000000001/kyc-link", good, `{}`)
	if resp.StatusCode != 201 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", body["kycUrl"].(string), strings.NewReader("decision=reject"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	decided, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page2, _ := io.ReadAll(decided.Body)
	decided.Body.Close()
	if !strings.Contains(string(page2), "Decision sent: reject") {
		t.Fatalf("decision page = %d %s", decided.StatusCode, page2)
	}
	var inbox string
	arrived := func() bool {
		return strings.Contains(inbox, "CUSTOMER.KYC_REJECTED") && strings.Contains(inbox, "CUSTOMER.KYC_PENDING")
	}
	for end := time.Now().Add(10 * time.Second); !arrived(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("inbox never showed both webhooks:\n%s", inbox)
		}
		_, b := call(t, "GET", base+"/sandbox/inbox/", "", "")
		inbox = b["raw"].(string)
	}
	if strings.Contains(inbox, "INVALID") || strings.Count(inbox, ">verified<") != 2 {
		t.Fatalf("inbox = %s; want both webhooks verified", inbox)
	}
}

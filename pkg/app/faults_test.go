//go:build integration

package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/internal/faultproxy"
	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

type faultEnv struct {
	proxy  *faultproxy.Proxy
	fake   *sumsubtest.Server
	app    *app.Service
	cfg    app.Config
	h      http.Handler
	table  string
	tokens string // the API tokens secret's id
	logs   *logbuf.Buffer
}

// newFaultEnv wires the real app (AWS backend, Sumsub provider) through the
// fault proxy to moto and to the fake Sumsub, with a 1 s request timeout.
func newFaultEnv(t testing.TB, overrides ...map[string]string) *faultEnv {
	moto := moto.Need(t)
	proxy := faultproxy.New(t, moto.URL)
	creds := sumsub.Credentials{AppToken: "sbx:f", SecretKey: "fault-secret-key"}
	fake := sumsubtest.NewServer(creds)
	t.Cleanup(fake.Close)
	st := motostack.New(t, moto, motostack.Options{
		Only: []string{"CustomersTable", "IdempotencyTable", "RateLimitTable", "PlatformsTable",
			"ApiTokensSecretArn", "SumsubSecretArn", "IdempotencyKeySecret"},
		Secrets: map[string]string{
			"ApiTokensSecretArn": `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"` + auth.DigestHex("s") + `"}]}`,
			"SumsubSecretArn":    `{"appToken":"sbx:f","secretKey":"fault-secret-key"}`,
		},
	})
	if _, err := moto.DynamoDB().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(st.Names["CustomersTable"]),
		Item: awsstore.CustomerItem(kyc.Customer{ID: "c1", PlatformID: "p", Type: kyc.Individual})}); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{"KYC_BACKEND": "aws", "KYC_PROVIDER": "sumsub", "KYC_REQUEST_TIMEOUT": "1s", "SUMSUB_BASE_URL": fake.URL}
	for k, v := range st.Env {
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		} else {
			env[k] = v
		}
	}
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL) // the functions reach moto through the proxy
	for _, o := range overrides {
		for k, v := range o {
			env[k] = v
		}
	}
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	a, err := app.Build(context.Background(), cfg, logs.Logger(), app.LinkFunction)
	if err != nil {
		t.Fatal(err)
	}
	return &faultEnv{proxy: proxy, fake: fake, app: a, cfg: cfg, h: a.Handler(), table: st.Names["IdempotencyTable"], tokens: st.Names["ApiTokensSecretArn"], logs: logs}
}

// call posts for customer c1 and returns the status, headers, and how long
// the answer took.
func (e *faultEnv) call(t testing.TB, key string) (*httptest.ResponseRecorder, time.Duration) {
	return e.callAs(t, "tok:s", key)
}

// callAs is call with other credentials ("id:secret").
func (e *faultEnv) callAs(t testing.TB, credentials, key string) (*httptest.ResponseRecorder, time.Duration) {
	return e.callOn(t, e.h, credentials, key)
}

// callOn is callAs on another handler of the same environment.
func (e *faultEnv) callOn(t testing.TB, h http.Handler, credentials, key string) (*httptest.ResponseRecorder, time.Duration) {
	r := httptest.NewRequest("POST", "/customers/c1/kyc-link", strings.NewReader(`{}`))
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(credentials)))
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(w, r)
	took := time.Since(start)
	if err := contract.CheckResponse(w.Code, w.Header(), w.Body.Bytes()); err != nil {
		t.Error(err)
	}
	return w, took
}

func want503(t *testing.T, w *httptest.ResponseRecorder, what string) {
	t.Helper()
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "SERVICE_UNAVAILABLE") {
		t.Fatalf("%s: %d %v %s; want 503 SERVICE_UNAVAILABLE with Retry-After", what, w.Code, w.Header(), w.Body)
	}
}

func TestSecretsManagerDownAtColdStartThenRecovers(t *testing.T) {
	e := newFaultEnv(t)
	e.proxy.Set("secretsmanager", faultproxy.Down)
	w, _ := e.call(t, "")
	want503(t, w, "Secrets Manager unreachable at cold start")
	e.proxy.Set("secretsmanager", faultproxy.Pass)
	if w, _ := e.call(t, ""); w.Code != 201 {
		t.Fatalf("after Secrets Manager came back: %d %s", w.Code, w.Body)
	}
}

func TestDynamoDBFaultsAre503(t *testing.T) {
	e := newFaultEnv(t)
	if w, _ := e.call(t, ""); w.Code != 201 { // warm the secrets
		t.Fatalf("warm-up: %d %s", w.Code, w.Body)
	}
	for _, tc := range []struct {
		op   string
		mode faultproxy.Mode
	}{
		{"GetItem", faultproxy.Throttle}, {"GetItem", faultproxy.Fail5xx}, {"GetItem", faultproxy.Down},
		{"PutItem", faultproxy.Throttle}, {"PutItem", faultproxy.Fail5xx},
	} {
		e.proxy.Set(tc.op, tc.mode)
		w, _ := e.call(t, "key-"+tc.op+string(tc.mode))
		want503(t, w, tc.op+" "+string(tc.mode))
		e.proxy.Set(tc.op, faultproxy.Pass)
	}
	if n := e.fake.Count(sumsubtest.LinkPath); n != 1 {
		t.Fatalf("Sumsub was called %d times; only the warm-up should reach it", n)
	}
}

// TestHungDependencyCannotHoldRequest: whichever dependency hangs, the
// answer is a 503 within the request deadline (1 s) plus scheduling slack.
func TestHungDependencyCannotHoldRequest(t *testing.T) {
	for _, dep := range []string{"secretsmanager", "GetItem", "PutItem", "sumsub"} {
		t.Run(dep, func(t *testing.T) {
			e := newFaultEnv(t)
			if dep != "secretsmanager" {
				e.call(t, "") // warm the secrets so the hang hits dep
			}
			if dep == "sumsub" {
				e.fake.SetDelay(time.Minute)
			} else {
				e.proxy.Set(dep, faultproxy.Hang)
			}
			w, took := e.call(t, "hang-key")
			want503(t, w, dep+" hanging")
			if took > 3*time.Second {
				t.Fatalf("%s hanging held the request %s; the deadline is 1s", dep, took)
			}
		})
	}
}

// TestCompleteFailureLeavesNoFalseSuccess: if storing the response fails,
// the caller still gets its 201, no record claims a success it cannot
// replay (the record stays in progress, its intent kept for the retry),
// and a retry runs afresh.
func TestCompleteFailureLeavesNoFalseSuccess(t *testing.T) {
	e := newFaultEnv(t)
	e.proxy.Set("UpdateItem", faultproxy.Fail5xx)
	w, _ := e.call(t, "complete-fails")
	if w.Code != 201 {
		t.Fatalf("first call: %d %s", w.Code, w.Body)
	}
	out, err := moto.DynamoDB().Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(e.table)})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("idempotency table after a failed complete holds %d items (%v); want the one record", len(out.Items), err)
	}
	if st, _ := out.Items[0]["status"].(*types.AttributeValueMemberS); st == nil || st.Value != "INPROGRESS" || out.Items[0]["responseBody"] != nil {
		t.Fatalf("record after a failed complete: %v; want in progress, no stored answer", out.Items[0])
	}
	// Unlocking failed as well (UpdateItem): the retry is told the key is
	// in use (409, Retry-After) until the lock ends (the deadline, 1 s,
	// plus the 2 s margin), then takes it over and runs (a retry that
	// waited out most of its own 1 s may answer 503: a client retries it).
	e.proxy.Set("UpdateItem", faultproxy.Pass)
	for start := time.Now(); ; time.Sleep(250 * time.Millisecond) {
		w, _ = e.call(t, "complete-fails")
		if w.Code != 409 && w.Code != 503 || time.Since(start) > 20*time.Second {
			break
		}
	}
	if w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry: %d replayed=%q %s; want a fresh 201", w.Code, w.Header().Get("Idempotent-Replayed"), w.Body)
	}
}

// TestNewTokenWorksWithinSeconds: a token added to the tokens secret is
// refused on first sight (which starts a reload, at most one per 5 s per
// process) and accepted within seconds, not after the 5-minute refresh.
func TestNewTokenWorksWithinSeconds(t *testing.T) {
	e := newFaultEnv(t)
	if w, _ := e.call(t, ""); w.Code != 201 {
		t.Fatalf("warm-up: %d %s", w.Code, w.Body)
	}
	_, err := moto.SecretsManager().PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(e.tokens),
		SecretString: aws.String(`{"tokens":[{"id":"tok","platformId":"p","secretSha256":"` + auth.DigestHex("s") +
			`"},{"id":"tok-new","platformId":"p","secretSha256":"` + auth.DigestHex("s2") + `"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	// 8 s covers the 5 s rate limit since the first load plus the reload.
	for start := time.Now(); ; time.Sleep(250 * time.Millisecond) {
		w, _ := e.callAs(t, "tok-new:s2", "")
		if w.Code == 201 {
			return
		}
		if w.Code != 401 {
			t.Fatalf("new token = %d %s; want 401, then 201", w.Code, w.Body)
		}
		if time.Since(start) > 8*time.Second {
			t.Fatal("a new token was still refused after 8 s")
		}
	}
}

// TestPrimeLoadsSecretsAndWarmsConnections: start-up loads its three secrets
// (tokens, Sumsub, the idempotency key) side by side and
// opens the DynamoDB and Sumsub connections, so the first request makes no
// Secrets Manager call.
func TestPrimeLoadsSecretsAndWarmsConnections(t *testing.T) {
	e := newFaultEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	e.app.Prime(ctx)
	// The three secrets in one batch read; no warm-up against moto's and
	// the fake's plain HTTP (no TLS handshake to save:
	// TestWarmUpsOnlyOverTLS).
	for op, want := range map[string]int{"BatchGetSecretValue": 1, "GetSecretValue": 0, "GetItem": 0} {
		if got := e.proxy.Count(op); got != want {
			t.Errorf("%s calls during start-up = %d; want %d", op, got, want)
		}
	}
	if got := e.fake.Warmups(); got != 0 {
		t.Errorf("Sumsub warm-ups = %d; want none over plain HTTP", got)
	}
	if w, _ := e.call(t, ""); w.Code != 201 {
		t.Fatalf("first request = %d %s", w.Code, w.Body)
	}
	if got, batch := e.proxy.Count("GetSecretValue"), e.proxy.Count("BatchGetSecretValue"); got != 0 || batch != 1 {
		t.Errorf("the first request read Secrets Manager: %d single and %d batch calls in all; want the one batch of start-up", got, batch)
	}
}

// TestPrimeFailureLeavesTheLazyPath: with Secrets Manager down at start-up,
// the first request gets the same 503 as without priming, and once it is
// back a request succeeds.
func TestPrimeFailureLeavesTheLazyPath(t *testing.T) {
	e := newFaultEnv(t)
	e.proxy.Set("secretsmanager", faultproxy.Down)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	e.app.Prime(ctx)
	w, _ := e.call(t, "")
	want503(t, w, "Secrets Manager down since start-up")
	e.proxy.Set("secretsmanager", faultproxy.Pass)
	if w, _ := e.call(t, ""); w.Code != 201 {
		t.Fatalf("after Secrets Manager came back: %d %s", w.Code, w.Body)
	}
}

// TestPermanentFaultsAre500: our misconfiguration (a missing table or
// secret, a wrong key schema, a secret in the wrong format, access or KMS
// denied) answers 500 without a retry hint, the cause in the log naming the
// resource; outages stay 503 (TestDynamoDBFaultsAre503).
func TestPermanentFaultsAre500(t *testing.T) {
	// The template's dead-letter table is keyed by id (the idempotency
	// table's key is pk); the tokens secret holds no list.
	broken := motostack.New(t, moto, motostack.Options{Only: []string{"WebhookDeadLetterTable", "ApiTokensSecretArn"},
		Secrets: map[string]string{"ApiTokensSecretArn": `{"tokens": "not a list"}`}})
	wrongKey, badJSON := broken.Names["WebhookDeadLetterTable"], broken.Names["ApiTokensSecretArn"]
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		op        string
		mode      faultproxy.Mode
		key       string
	}{
		{name: "customers table missing", overrides: map[string]string{"CUSTOMERS_TABLE": "absent-table"}},
		{name: "idempotency table with the wrong key", overrides: map[string]string{"IDEMPOTENCY_TABLE": wrongKey}, key: "k"},
		{name: "tokens secret missing", overrides: map[string]string{"API_TOKENS_SECRET_ID": "absent-secret"}},
		{name: "tokens secret not in the format", overrides: map[string]string{"API_TOKENS_SECRET_ID": badJSON}},
		{name: "Sumsub secret missing", overrides: map[string]string{"SUMSUB_SECRET_ID": "absent-secret"}},
		{name: "access denied", op: "GetItem", mode: faultproxy.Code("AccessDeniedException")},
		{name: "KMS refuses the secret", op: "secretsmanager", mode: faultproxy.Code("DecryptionFailure")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFaultEnv(t, tc.overrides)
			if tc.op != "" {
				e.proxy.Set(tc.op, tc.mode)
			}
			w, _ := e.call(t, tc.key)
			if w.Code != 500 || !strings.Contains(w.Body.String(), "INTERNAL_ERROR") || w.Header().Get("Retry-After") != "" {
				t.Fatalf("%d %v %s; want 500 INTERNAL_ERROR without Retry-After", w.Code, w.Header(), w.Body)
			}
		})
	}
}

// TestMissingCredentialsAre500: a process with no AWS credentials at all is
// misconfigured, not facing an outage: 500 without a retry hint, and the
// log says what to set.
func TestMissingCredentialsAre500(t *testing.T) {
	e := newFaultEnv(t)
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": ""} {
		t.Setenv(k, v)
	}
	logs := &logbuf.Buffer{}
	a, err := app.Build(context.Background(), e.cfg, logs.Logger(), app.LinkFunction)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := e.callOn(t, a.Handler(), "tok:s", "")
	if w.Code != 500 || w.Header().Get("Retry-After") != "" {
		t.Fatalf("%d %v %s; want 500 INTERNAL_ERROR without Retry-After", w.Code, w.Header(), w.Body)
	}
	if !strings.Contains(logs.String(), "no usable AWS credentials") {
		t.Errorf("the log does not say credentials are missing: %s", logs)
	}
}

// lastRequestLine is the last request log line, decoded.
func (e *faultEnv) lastRequestLine(t *testing.T) map[string]any {
	t.Helper()
	var last map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var line map[string]any
		if json.Unmarshal([]byte(l), &line) == nil && line["msg"] == "request" {
			last = line
		}
	}
	if last == nil {
		t.Fatalf("no request line in %s", e.logs)
	}
	return last
}

// TestMetricsThroughTheApp: a link's log line carries the Sumsub calls'
// and the DynamoDB calls' latencies; a 503 names the dependency behind it.
func TestMetricsThroughTheApp(t *testing.T) {
	e := newFaultEnv(t)
	if w, _ := e.call(t, "metrics-key"); w.Code != 201 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	line := e.lastRequestLine(t)
	if _, ok := line["_aws"]; !ok || line["Outcome"] != "LINK_ISSUED" {
		t.Fatalf("line = %v; want EMF with Outcome LINK_ISSUED", line)
	}
	if s, _ := line["SumsubLatency"].([]any); len(s) != 2 {
		t.Errorf("SumsubLatency = %v; want the link's and the token's", line["SumsubLatency"])
	}
	if s, _ := line["DynamoDBLatency"].([]any); len(s) < 3 {
		t.Errorf("DynamoDBLatency = %v; want the lookup, the acquire and the complete at least", line["DynamoDBLatency"])
	}
	e.proxy.Set("GetItem", faultproxy.Throttle)
	e.call(t, "")
	if got := e.lastRequestLine(t)["Outcome"]; got != "SERVICE_UNAVAILABLE_STORE" {
		t.Errorf("DynamoDB throttled: Outcome %v; want SERVICE_UNAVAILABLE_STORE", got)
	}
	e.proxy.Set("GetItem", faultproxy.Pass)

	cold := newFaultEnv(t)
	cold.proxy.Set("secretsmanager", faultproxy.Down)
	cold.call(t, "")
	if got := cold.lastRequestLine(t)["Outcome"]; got != "SERVICE_UNAVAILABLE_SECRETS" {
		t.Errorf("Secrets Manager down: Outcome %v; want SERVICE_UNAVAILABLE_SECRETS", got)
	}
}

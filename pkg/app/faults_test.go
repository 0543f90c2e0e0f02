package app_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

// Fault modes the AWS proxy can inject, per operation (X-Amz-Target, e.g.
// "DynamoDB_20120810.UpdateItem" or "secretsmanager.GetSecretValue").
const (
	pass     = ""
	down     = "down"     // connection dropped
	throttle = "throttle" // DynamoDB ThrottlingException
	fail5xx  = "5xx"      // InternalServerError
	hang     = "hang"     // no answer until the caller gives up
)

// awsProxy stands between the service and moto_server and injects faults.
type awsProxy struct {
	*httptest.Server
	mu     sync.Mutex
	faults map[string]string // operation suffix or service prefix -> mode
	stop   chan struct{}
}

func newAWSProxy(t *testing.T) *awsProxy {
	target, _ := url.Parse(moto.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &awsProxy{faults: map[string]string{}, stop: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p.mode(r.Header.Get("X-Amz-Target")) {
		case down:
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case throttle:
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)
		case fail5xx:
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(500)
			io.WriteString(w, `{"__type":"InternalServerError","message":"injected"}`)
		case hang:
			// Reading the body lets the server notice the client leaving.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-p.stop:
			}
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(p.Close)
	t.Cleanup(func() { close(p.stop) }) // runs first: frees hung handlers so Close can finish
	return p
}

func (p *awsProxy) mode(target string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, m := range p.faults {
		if strings.HasPrefix(target, k) || strings.HasSuffix(target, "."+k) {
			return m
		}
	}
	return pass
}

func (p *awsProxy) set(op, mode string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mode == pass {
		delete(p.faults, op)
	} else {
		p.faults[op] = mode
	}
}

type faultEnv struct {
	proxy *awsProxy
	fake  *sumsubtest.Server
	h     http.Handler
	table string
}

var envN int

// newFaultEnv wires the real app (AWS backend, Sumsub provider) through the
// fault proxy to moto and to the fake Sumsub, with a 1 s request timeout.
func newFaultEnv(t *testing.T) *faultEnv {
	envN++
	sfx := strings.Repeat("x", envN)
	proxy := newAWSProxy(t)
	creds := sumsub.Credentials{AppToken: "sbx:f", SecretKey: "fault-secret-key"}
	fake := sumsubtest.NewServer(creds)
	t.Cleanup(fake.Close)
	moto.CreateTable(t, "cust-"+sfx, "id")
	moto.CreateTable(t, "idem-"+sfx, "pk")
	moto.PutSecret(t, "tokens-"+sfx, `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"`+auth.DigestHex("s")+`"}]}`)
	moto.PutSecret(t, "sumsub-"+sfx, `{"appToken":"sbx:f","secretKey":"fault-secret-key"}`)
	moto.DynamoDB().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("cust-" + sfx),
		Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "c1"}, "platformId": &types.AttributeValueMemberS{Value: "p"}}})

	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	env := map[string]string{
		"KYC_BACKEND": "aws", "KYC_PROVIDER": "sumsub", "KYC_REQUEST_TIMEOUT": "1s",
		"CUSTOMERS_TABLE": "cust-" + sfx, "IDEMPOTENCY_TABLE": "idem-" + sfx,
		"API_TOKENS_SECRET_ID": "tokens-" + sfx, "SUMSUB_SECRET_ID": "sumsub-" + sfx, "SUMSUB_BASE_URL": fake.URL,
	}
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &faultEnv{proxy: proxy, fake: fake, h: a.Handler(), table: "idem-" + sfx}
}

// call posts for customer c1 and returns the status, headers, and how long
// the answer took.
func (e *faultEnv) call(t *testing.T, key string) (*httptest.ResponseRecorder, time.Duration) {
	r := httptest.NewRequest("POST", "/customers/c1/kyc-link", strings.NewReader(`{}`))
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("tok:s")))
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	start := time.Now()
	e.h.ServeHTTP(w, r)
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
	e.proxy.set("secretsmanager", down)
	w, _ := e.call(t, "")
	want503(t, w, "Secrets Manager unreachable at cold start")
	e.proxy.set("secretsmanager", pass)
	if w, _ := e.call(t, ""); w.Code != 201 {
		t.Fatalf("after Secrets Manager came back: %d %s", w.Code, w.Body)
	}
}

func TestDynamoDBFaultsAre503(t *testing.T) {
	e := newFaultEnv(t)
	if w, _ := e.call(t, ""); w.Code != 201 { // warm the secrets
		t.Fatalf("warm-up: %d %s", w.Code, w.Body)
	}
	for _, tc := range []struct{ op, mode string }{
		{"GetItem", throttle}, {"GetItem", fail5xx}, {"GetItem", down},
		{"PutItem", throttle}, {"PutItem", fail5xx},
	} {
		e.proxy.set(tc.op, tc.mode)
		w, _ := e.call(t, "key-"+tc.op+tc.mode)
		want503(t, w, tc.op+" "+tc.mode)
		e.proxy.set(tc.op, pass)
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
				e.proxy.set(dep, hang)
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
// the caller still gets its 201, the key is released (no record claims a
// success it cannot replay), and a retry runs afresh.
func TestCompleteFailureLeavesNoFalseSuccess(t *testing.T) {
	e := newFaultEnv(t)
	e.proxy.set("UpdateItem", fail5xx)
	w, _ := e.call(t, "complete-fails")
	if w.Code != 201 {
		t.Fatalf("first call: %d %s", w.Code, w.Body)
	}
	out, err := moto.DynamoDB().Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(e.table)})
	if err != nil || len(out.Items) != 0 {
		t.Fatalf("idempotency table after a failed complete holds %d items (%v); want none", len(out.Items), err)
	}
	e.proxy.set("UpdateItem", pass)
	w, _ = e.call(t, "complete-fails")
	if w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry: %d replayed=%q; want a fresh 201", w.Code, w.Header().Get("Idempotent-Replayed"))
	}
}

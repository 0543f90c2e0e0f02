//go:build !notrace

package telemetry_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/grid-kyc/kyc-link/internal/otlpfake"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// Lambda's trace header for an invocation X-Ray sampled, and its parts.
const (
	header      = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	headerTrace = "5759e988bd862e3fe1be46a994272793"
	headerSpan  = "53995c3f42cd8ad8"
)

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set: off", nil, ""},
		{"base endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318/"}, "http://localhost:4318/v1/traces"},
		{"traces endpoint wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"}, "http://b:4318/custom"},
		{"SDK disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "TRUE"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := telemetry.Endpoint(func(k string) string { return tc.env[k] }); got != tc.want {
				t.Errorf("Endpoint = %q, want %q", got, tc.want)
			}
		})
	}
}

func newTracing(t *testing.T, c *otlpfake.Collector) *telemetry.Tracing {
	t.Helper()
	tr, err := telemetry.New(context.Background(), c.URL+"/v1/traces", "kyc-link-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}

// peer is an outside HTTP service that records the headers it was sent.
type peer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newPeer(t *testing.T) *peer {
	p := &peer{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.headers = append(p.headers, r.Header.Clone())
		p.mu.Unlock()
	}))
	t.Cleanup(p.Close)
	return p
}

// TestInvocationJoinsLambdasTrace: an invocation is a server span whose
// parent is Lambda's segment (from the trace header aws-lambda-go puts in
// the context, or from _X_AMZN_TRACE_ID), an outbound call is its child,
// the outside peer sees none of our trace headers, and every span has
// reached the collector when Invoke returns.
func TestInvocationJoinsLambdasTrace(t *testing.T) {
	for _, from := range []string{"context", "environment"} {
		t.Run(from, func(t *testing.T) {
			c := otlpfake.New()
			defer c.Close()
			tr := newTracing(t, c)
			p := newPeer(t)
			client := &http.Client{Transport: tr.Transport("Sumsub", http.DefaultTransport)}
			h := tr.Lambda("kyc-link", lambda.NewHandler(func(ctx context.Context) (string, error) {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/resources/sdkIntegrations/levels/-/websdkLink", nil)
				resp, err := client.Do(req)
				if err != nil {
					return "", err
				}
				resp.Body.Close()
				return "done", nil
			}))
			ctx := context.Background()
			if from == "context" {
				//lint:ignore SA1029 the key aws-lambda-go itself uses
				ctx = context.WithValue(ctx, "x-amzn-trace-id", header)
			} else {
				t.Setenv("_X_AMZN_TRACE_ID", header)
			}
			out, err := h.Invoke(ctx, []byte(`{}`))
			if err != nil || string(out) != `"done"` {
				t.Fatalf("Invoke = %s, %v", out, err)
			}
			spans := c.Spans() // no wait: the invocation flushed them
			if len(spans) != 2 {
				t.Fatalf("spans at return: %+v; want the invocation and the call", spans)
			}
			byName := map[string]otlpfake.Span{}
			for _, s := range spans {
				byName[s.Name] = s
			}
			inv, call := byName["kyc-link"], byName["Sumsub POST"]
			got := []any{inv.Kind, inv.TraceID, inv.ParentSpanID, call.Kind, call.TraceID, call.ParentSpanID, inv.Service}
			want := []any{tracepb.Span_SPAN_KIND_SERVER, headerTrace, headerSpan, tracepb.Span_SPAN_KIND_CLIENT, headerTrace, inv.SpanID, "kyc-link-test"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("spans (-want +got):\n%s\nall: %+v", diff, spans)
			}
			for _, hd := range p.headers {
				for k := range hd {
					if k := strings.ToLower(k); k == "x-amzn-trace-id" || k == "traceparent" || k == "tracestate" {
						t.Errorf("the peer was sent our trace header %s", k)
					}
				}
			}
		})
	}
}

// TestUnsampledInvocationExportsNothing: X-Ray's decision not to sample
// (Sampled=0) is kept; nothing is recorded or sent.
func TestUnsampledInvocationExportsNothing(t *testing.T) {
	c := otlpfake.New()
	defer c.Close()
	tr := newTracing(t, c)
	h := tr.Lambda("kyc-link", lambda.NewHandler(func() error { return nil }))
	t.Setenv("_X_AMZN_TRACE_ID", strings.Replace(header, "Sampled=1", "Sampled=0", 1))
	if _, err := h.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := c.Exports(); n != 0 {
		t.Errorf("%d exports (%+v); want none", n, c.Spans())
	}
}

// TestFlushWithinDeadline: a collector that never answers does not hold
// the invocation past its deadline; the answer is returned as it was.
func TestFlushWithinDeadline(t *testing.T) {
	c := otlpfake.New()
	defer c.Close()
	c.Hang()
	tr := newTracing(t, c)
	h := tr.Lambda("kyc-link", lambda.NewHandler(func() (string, error) { return "answer", nil }))
	deadline := time.Now().Add(telemetry.FlushTimeout + 500*time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	out, err := h.Invoke(ctx, []byte(`{}`))
	if returned := time.Now(); returned.After(deadline) {
		t.Errorf("returned %v after the deadline", returned.Sub(deadline))
	}
	if err != nil || string(out) != `"answer"` {
		t.Errorf("Invoke = %s, %v; want the handler's answer", out, err)
	}
}

// TestAWSCallSpans: each SDK call is a client span named for its service
// and operation, child of the caller's span, with the attributes X-Ray's
// exporter maps to an AWS subsegment; a failed call carries its AWS error
// code.
func TestAWSCallSpans(t *testing.T) {
	c := otlpfake.New()
	defer c.Close()
	tr := newTracing(t, c)
	dynamo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DeleteItem") {
			w.Header().Set("X-Amzn-Requestid", "req-missing")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no table"}`))
			return
		}
		w.Header().Set("X-Amzn-Requestid", "req-ok")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer dynamo.Close()
	db := dynamodb.New(dynamodb.Options{Region: "eu-west-1", BaseEndpoint: aws.String(dynamo.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""), APIOptions: []func(*middleware.Stack) error{tr.AWSCalls}})
	key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "c1"}}
	h := tr.Lambda("kyc-link", lambda.NewHandler(func(ctx context.Context) error {
		if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("customers"), Key: key}); err != nil {
			return err
		}
		_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("gone"), Key: key})
		if err == nil {
			t.Error("DeleteItem succeeded; the fake table is missing")
		}
		return nil
	}))
	t.Setenv("_X_AMZN_TRACE_ID", header)
	if _, err := h.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	var root string
	got := map[string]otlpfake.Span{}
	for _, s := range c.Spans() {
		got[s.Name] = s
		if s.Name == "kyc-link" {
			root = s.SpanID
		}
	}
	for _, tc := range []struct {
		name, method, requestID string
		failed                  bool
	}{
		{"DynamoDB.GetItem", "GetItem", "req-ok", false},
		{"DynamoDB.DeleteItem", "DeleteItem", "req-missing", true},
	} {
		s, ok := got[tc.name]
		if !ok {
			t.Errorf("no span %s in %+v", tc.name, c.Spans())
			continue
		}
		wantAttrs := map[string]string{"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": tc.method,
			"cloud.region": "eu-west-1", "aws.request_id": tc.requestID}
		gotAttrs := map[string]string{}
		for k := range wantAttrs {
			gotAttrs[k] = s.Attributes[k]
		}
		if diff := cmp.Diff(wantAttrs, gotAttrs); diff != "" {
			t.Errorf("%s attributes (-want +got):\n%s", tc.name, diff)
		}
		if s.Kind != tracepb.Span_SPAN_KIND_CLIENT || s.ParentSpanID != root || s.TraceID != headerTrace || s.Error != tc.failed {
			t.Errorf("%s: kind %v parent %s trace %s error %v; want client, child of %s in %s, error %v",
				tc.name, s.Kind, s.ParentSpanID, s.TraceID, s.Error, root, headerTrace, tc.failed)
		}
	}
}

// TestOffRecordsNothing: without an endpoint there is no tracer, and each
// hook hands back what it was given.
func TestOffRecordsNothing(t *testing.T) {
	tr, err := telemetry.New(context.Background(), "", "kyc-link")
	if err != nil || tr != nil || tr.On() {
		t.Fatalf("New(\"\") = %v, %v; want off", tr, err)
	}
	rt := http.DefaultTransport
	if tr.Transport("Sumsub", rt) != rt {
		t.Error("Transport wrapped the transport")
	}
	h := lambda.NewHandler(func() error { return nil })
	if tr.Lambda("kyc-link", h) != h {
		t.Error("Lambda wrapped the handler")
	}
	stack := middleware.NewStack("op", nil)
	if err := tr.AWSCalls(stack); err != nil || len(stack.Initialize.List()) != 0 {
		t.Errorf("AWSCalls added %v (%v)", stack.Initialize.List(), err)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestLocalRequestSpan: a local server's request is a server span that
// continues an incoming X-Ray header, and is exported by Shutdown.
func TestLocalRequestSpan(t *testing.T) {
	c := otlpfake.New()
	defer c.Close()
	tr := newTracing(t, c)
	h := tr.HTTPHandler("kyc-link", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) }))
	r := httptest.NewRequest("POST", "/customers/c1/kyc-link", nil)
	r.Header.Set("X-Amzn-Trace-Id", header)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := c.Spans()
	if len(spans) != 1 || spans[0].Kind != tracepb.Span_SPAN_KIND_SERVER || spans[0].TraceID != headerTrace || spans[0].ParentSpanID != headerSpan {
		t.Errorf("spans %+v; want one server span continuing the incoming trace", spans)
	}
}

// TestLogHandlerAddsTheTraceID: a line logged inside a sampled trace names
// it as X-Ray does, from our span or, with tracing off, from Lambda's trace
// header; outside a trace, or unsampled, nothing is added.
func TestLogHandlerAddsTheTraceID(t *testing.T) {
	c := otlpfake.New()
	defer c.Close()
	tr := newTracing(t, c)
	const want = "1-5759e988-bd862e3fe1be46a994272793"
	for _, tc := range []struct {
		name   string
		header string
		traced bool
		want   string
	}{
		{"outside any trace", "", false, ""},
		{"Lambda's header, tracing off", header, false, want},
		{"Lambda's header, unsampled", strings.Replace(header, "Sampled=1", "Sampled=0", 1), false, ""},
		{"our span", header, true, want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			logger := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&buf, nil))).With("fn", "kyc-link")
			ctx := context.Background()
			if tc.header != "" {
				//lint:ignore SA1029 the key aws-lambda-go itself uses
				ctx = context.WithValue(ctx, "x-amzn-trace-id", tc.header)
			}
			log := func(ctx context.Context) ([]byte, error) {
				logger.InfoContext(ctx, "request")
				return nil, nil
			}
			if tc.traced {
				_, _ = tr.Lambda("kyc-link", handlerFunc(log)).Invoke(ctx, nil)
			} else {
				_, _ = log(ctx)
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(buf.String()), &line); err != nil {
				t.Fatal(err)
			}
			if got, _ := line["trace_id"].(string); got != tc.want || line["fn"] != "kyc-link" {
				t.Errorf("line %s: trace_id %q, want %q", buf.String(), got, tc.want)
			}
		})
	}
}

type handlerFunc func(context.Context) ([]byte, error)

func (f handlerFunc) Invoke(ctx context.Context, _ []byte) ([]byte, error) { return f(ctx) }

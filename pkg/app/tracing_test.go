//go:build integration && !notrace

package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/internal/otlpfake"
)

// TestTraceOfALink: with an OTLP endpoint configured, one link request
// through the Lambda entry point (real SDK clients against moto, the fake
// Sumsub) is one trace under Lambda's segment: the invocation, the secret
// reads, the DynamoDB calls and both Sumsub calls, every span connected to
// the invocation, all exported by the time the invocation returns.
func TestTraceOfALink(t *testing.T) {
	c := otlpfake.New()
	defer c.Close()
	e := newFaultEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.URL, "AWS_LAMBDA_FUNCTION_NAME": "stack-KycLinkFunction-abc"})
	t.Setenv("_X_AMZN_TRACE_ID", "Root=1-6a1b2c3d-0123456789abcdef01234567;Parent=1122334455667788;Sampled=1")
	ev, _ := json.Marshal(events.APIGatewayProxyRequest{
		Resource: "/customers/{customerId}/kyc-link", Path: "/customers/c1/kyc-link", HTTPMethod: "POST",
		Headers: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("tok:s")),
			"Content-Type": "application/json"},
		PathParameters: map[string]string{"customerId": "c1"},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "rid-trace", Stage: "prod"},
		Body:           "{}",
	})
	out, err := e.app.LambdaHandler().Invoke(context.Background(), ev)
	var resp events.APIGatewayProxyResponse
	if err != nil || json.Unmarshal(out, &resp) != nil || resp.StatusCode != 201 {
		t.Fatalf("Invoke = %s, %v; want a 201", out, err)
	}

	spans := c.Spans()
	byID := map[string]otlpfake.Span{}
	count := map[string]int{}
	var root otlpfake.Span
	for _, s := range spans {
		byID[s.SpanID] = s
		count[s.Name]++
		if s.Name == "kyc-link" {
			root = s
		}
	}
	if root.ParentSpanID != "1122334455667788" || root.TraceID != "6a1b2c3d0123456789abcdef01234567" || root.Service != "stack-KycLinkFunction-abc" {
		t.Fatalf("invocation span %+v; want a child of Lambda's segment, named for the function", root)
	}
	for name, atLeast := range map[string]int{"Secrets Manager.GetSecretValue": 2, "DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 1, "Sumsub POST": 2} {
		if count[name] < atLeast {
			t.Errorf("%d %s spans, want at least %d; got %v", count[name], name, atLeast, count)
		}
	}
	for _, s := range spans {
		hops := 0
		for p := s; p.SpanID != root.SpanID; p = byID[p.ParentSpanID] {
			if hops++; hops > 10 || p.SpanID == "" {
				t.Errorf("span %s (parent %s) is not under the invocation", s.Name, s.ParentSpanID)
				break
			}
		}
	}
}

package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/pkg/app"
)

// FuzzLambdaEvent builds REST (v1) and HTTP API (v2) events from arbitrary
// paths, bodies, base64 flags and headers and sends them through the
// function Lambda calls. An HTTP event always gets an HTTP answer: no
// invocation error, no panic, no 5xx, and the answer keeps the contract.
func FuzzLambdaEvent(f *testing.F) {
	const cust = "/customers/Customer:019542f5-b3e7-1d02-0000-000000000001/kyc-link"
	const demo = "Basic ZGVtby10b2tlbjpkZW1vLXNlY3JldC1ub3QtZm9yLXByb2R1Y3Rpb24="
	f.Add(false, cust, `{"redirectUri":"https://a.example"}`, false, demo, "k1", "prod")
	f.Add(true, cust, `e30=`, true, demo, "", "$default")
	f.Add(true, "/prod"+cust, `{}`, false, demo, "k2", "prod")
	f.Add(false, "/a b%zz", "!!!", true, "", "", "")
	f.Add(true, "", "", false, "Basic", "\x00", "")
	cfg, err := app.ConfigFromEnv(func(string) string { return "" }, true)
	if err != nil {
		f.Fatal(err)
	}
	cfg.Backend, cfg.Provider = app.BackendMemory, app.ProviderSandbox
	a, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.LinkFunction)
	if err != nil {
		f.Fatal(err)
	}
	invoke := a.Lambda().Invoke
	f.Fuzz(func(t *testing.T, v2 bool, path, body string, b64 bool, authz, key, stage string) {
		headers := map[string]string{"Authorization": authz, "Content-Type": "application/json"}
		if key != "" {
			headers["Idempotency-Key"] = key
		}
		var ev any
		if v2 {
			ev = events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path, Body: body, IsBase64Encoded: b64, Headers: headers,
				RequestContext: events.APIGatewayV2HTTPRequestContext{Stage: stage,
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path}}}
		} else {
			ev = events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: path, Body: body, IsBase64Encoded: b64, Headers: headers,
				RequestContext: events.APIGatewayProxyRequestContext{Stage: stage}}
		}
		payload, _ := json.Marshal(ev) // plain structs of strings: cannot fail
		resp := invokeHTTP(t, invoke, payload)
		if resp.StatusCode < 200 || resp.StatusCode >= 500 {
			t.Fatalf("status %d for %s: %s", resp.StatusCode, payload, resp.Body)
		}
	})
}

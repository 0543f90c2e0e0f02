package app

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// Wrong (low): newAWSStores drops the DynamoDB warm-up only when the
// SDK's shared endpoint (AWS_ENDPOINT_URL, awsCfg.BaseEndpoint) is plain
// HTTP; DynamoDB's own endpoint variable (AWS_ENDPOINT_URL_DYNAMODB,
// which the SDK's DynamoDB client honours) leaves BaseEndpoint empty, so
// against a plain-HTTP DynamoDB (moto, DynamoDB Local) the warm-up still
// runs and only costs a call. Right: decide on the endpoint the DynamoDB
// client resolves (its Options().BaseEndpoint or the service variable).
func TestFoundWarmUpOverPlainHTTPServiceEndpoint(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:5000")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{Backend: BackendAWS, CustomersTable: "c", SumsubBaseURL: "http://127.0.0.1:6000"}
	st, _, err := newAWSStores(context.Background(), cfg, logger, &telemetry.Tracing{})
	if err != nil {
		t.Fatal(err)
	}
	r := &root{cfg: cfg, logger: logger, tracing: &telemetry.Tracing{}, stores: st}
	r.customers()
	var got []string
	for _, p := range r.primers {
		got = append(got, p.name)
	}
	if slices.Contains(got, "dynamodb connection") {
		t.Errorf("DynamoDB at http://127.0.0.1:5000 (AWS_ENDPOINT_URL_DYNAMODB): start-up steps %v; want no dynamodb warm-up", got)
	}
}

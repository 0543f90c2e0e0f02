package app

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// TestWarmUpsOnlyOverTLS: a connection is opened ahead of the first
// request only where that saves a TLS handshake: DynamoDB and Sumsub at
// https endpoints, not at a plain-HTTP one (moto, a local fake).
func TestWarmUpsOnlyOverTLS(t *testing.T) {
	for _, tc := range []struct {
		endpoint, sumsub string
		want             []string
	}{
		{"https://dynamodb.example.test", "https://api.sumsub.com", []string{"dynamodb connection", "sumsub connection"}},
		{"http://127.0.0.1:5000", "http://127.0.0.1:6000", nil},
	} {
		t.Setenv("AWS_ENDPOINT_URL", tc.endpoint)
		t.Setenv("AWS_REGION", "us-east-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		cfg := Config{Backend: BackendAWS, CustomersTable: "c", SumsubBaseURL: tc.sumsub}
		st, _, err := newAWSStores(context.Background(), cfg, logger, &telemetry.Tracing{})
		if err != nil {
			t.Fatal(err)
		}
		r := &root{cfg: cfg, logger: logger, tracing: &telemetry.Tracing{}, stores: st}
		r.customers()
		r.sumsubProvider()
		var got []string
		for _, p := range r.primers {
			got = append(got, p.name)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s, %s: start-up steps %v; want %v", tc.endpoint, tc.sumsub, got, tc.want)
		}
	}
}

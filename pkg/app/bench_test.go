//go:build integration

package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/otlpfake"
	"github.com/grid-kyc/kyc-link/pkg/app"
)

// roundTripDelay is the latency added to every DynamoDB, Secrets Manager
// and Sumsub call while measuring round trips.
const roundTripDelay = 40 * time.Millisecond

// BenchmarkRoundTrips counts the network round trips a request waits for,
// one after the other, black-box: every DynamoDB and Secrets Manager call
// (through the fault proxy) and every Sumsub call (the fake) is held for
// roundTripDelay, and the latency this adds over the same request without
// the delay, divided by the delay, is the round trips (metric
// round-trips/op). Cases: no key, first request with a key, replay, and a
// cold start's first answer (wiring, start-up priming, first request, no
// key). docs/performance.md has the figures.
func BenchmarkRoundTrips(b *testing.B) {
	// Limits it will not reach: it measures round trips, not limits (the
	// rate-limit check runs beside the lookup and is measured with it).
	e := newFaultEnv(b, map[string]string{"PLATFORM_RATE_LIMIT": "10000", "PLATFORM_RATE_BURST": "10000", "SUMSUB_RATE_LIMIT": "10000"})
	d := &delays{e: e}
	ctx := context.Background()
	e.app.Prime(ctx)
	e.call(b, "") // warm
	n := 0
	key := func() string { n++; return fmt.Sprintf("rt-%d-%d", time.Now().UnixNano(), n) }
	mustStatus := func(got, want int) {
		if got != want {
			b.Fatalf("status %d; want %d", got, want)
		}
	}
	cases := []struct {
		name    string
		request func() time.Duration
	}{
		{"no key", func() time.Duration { w, d := e.call(b, ""); mustStatus(w.Code, 201); return d }},
		{"first keyed request", func() time.Duration { w, d := e.call(b, key()); mustStatus(w.Code, 201); return d }},
		{"replay", func() time.Duration {
			// The first request, undelayed, stores the answer to replay.
			k, was := key(), d.now
			d.set(0)
			w, _ := e.call(b, k)
			mustStatus(w.Code, 201)
			d.set(was)
			w, took := e.call(b, k)
			mustStatus(w.Code, 201)
			return took
		}},
		{"cold first answer", func() time.Duration {
			start := time.Now()
			a, err := app.Build(ctx, e.cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.LinkFunction)
			if err != nil {
				b.Fatal(err)
			}
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			a.Prime(pctx)
			cancel()
			w, _ := e.callOn(b, a.Handler(), "tok:s", "")
			mustStatus(w.Code, 201)
			return time.Since(start)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var base, delayed time.Duration
			for b.Loop() {
				d.set(0)
				base += tc.request()
				d.set(roundTripDelay)
				delayed += tc.request()
			}
			d.set(0)
			b.ReportMetric(float64(delayed-base)/float64(b.N)/float64(roundTripDelay), "round-trips/op")
		})
	}
}

// delays sets the delay of every dependency at once.
type delays struct {
	e   *faultEnv
	now time.Duration
}

func (d *delays) set(to time.Duration) {
	d.now = to
	d.e.proxy.SetDelay(to)
	d.e.fake.SetDelay(to)
}

// BenchmarkTracing is the cost tracing adds to one Lambda invocation of the
// link route (memory backend and sandbox provider, so only our own code
// runs): off, and on with every span exported to a collector on loopback
// before the invocation returns, as in Lambda with a collector layer.
func BenchmarkTracing(b *testing.B) {
	payload, err := os.ReadFile("../../events/v1-success.json")
	if err != nil {
		b.Fatal(err)
	}
	c := otlpfake.New()
	defer c.Close()
	for _, bc := range []struct {
		name string
		env  map[string]string
	}{
		{"off", nil},
		{"on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.URL}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			env := map[string]string{"PLATFORM_RATE_BURST": "1000000", "PLATFORM_RATE_LIMIT": "1000000", "SUMSUB_RATE_LIMIT": "1000000"}
			maps.Copy(env, bc.env)
			a := lambdaApp(b, env)
			h := a.LambdaHandler()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				out, err := h.Invoke(ctx, payload)
				if err != nil || !bytes.Contains(out, []byte(`"statusCode":201`)) {
					b.Fatalf("Invoke = %.200s, %v", out, err)
				}
			}
		})
	}
}

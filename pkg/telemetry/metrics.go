// Package telemetry is what the service tells its operators besides the
// log: metrics and traces. telemetry.go collects a request's measurements (dependency latencies)
// through its context and renders them, with the request's outcome, as
// CloudWatch Embedded Metric Format attributes on the request's one log
// line: CloudWatch extracts the metrics from the log, so there is no extra
// line and no API call on the request path. Dimensions stay low-cardinality:
// the outcome only, never a customer or platform id.
package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
)

// Namespace is where the metrics appear in CloudWatch.
const Namespace = "KycLink"

// Latency metric names.
const (
	SumsubLatency   = "SumsubLatency"
	DynamoDBLatency = "DynamoDBLatency"
)

// Recorder holds one request's measurements.
type Recorder struct {
	mu      sync.Mutex
	samples map[string][]float64
}

type key struct{}

// With returns ctx carrying a new Recorder, and the Recorder.
func WithMetrics(ctx context.Context) (context.Context, *Recorder) {
	r := &Recorder{samples: map[string][]float64{}}
	return context.WithValue(ctx, key{}, r), r
}

// Observe records a latency under name in ctx's Recorder, if any.
func Observe(ctx context.Context, name string, d time.Duration) {
	r, _ := ctx.Value(key{}).(*Recorder)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples[name] = append(r.samples[name], float64(d.Microseconds())/1000)
}

// Attrs are the EMF attributes for a log line: the request counted under
// its outcome (Requests, dimension Outcome) and every latency recorded, in
// milliseconds.
func (r *Recorder) Attrs(outcome string, now time.Time) []slog.Attr {
	metrics := []map[string]string{{"Name": "Requests", "Unit": "Count"}}
	attrs := []slog.Attr{slog.String("Outcome", outcome), slog.Int("Requests", 1)}
	r.mu.Lock()
	for _, name := range []string{SumsubLatency, DynamoDBLatency} {
		if s := r.samples[name]; len(s) > 0 {
			metrics = append(metrics, map[string]string{"Name": name, "Unit": "Milliseconds"})
			attrs = append(attrs, slog.Any(name, append([]float64(nil), s...)))
		}
	}
	r.mu.Unlock()
	emf := map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace": Namespace, "Dimensions": [][]string{{"Outcome"}}, "Metrics": metrics,
		}},
	}
	return append([]slog.Attr{slog.Any("_aws", emf)}, attrs...)
}

// TimeCalls is an AWS SDK option that records each call's latency
// (retries included) under name in the calling request's Recorder.
func TimeCalls(name string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("KycLinkLatency",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				Observe(ctx, name, time.Since(start))
				return out, md, err
			}), middleware.Before)
	}
}

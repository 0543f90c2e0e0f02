package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// CheckEMF validates a log line as CloudWatch embedded metric format: an
// _aws object with a timestamp and metric directives whose dimensions and
// metrics all exist on the line, with numeric values.
func CheckEMF(t *testing.T, line map[string]any) {
	t.Helper()
	aws, _ := line["_aws"].(map[string]any)
	if aws == nil {
		t.Fatalf("no _aws in %v", line)
	}
	if _, ok := aws["Timestamp"].(float64); !ok {
		t.Fatalf("_aws.Timestamp missing: %v", aws)
	}
	directives, _ := aws["CloudWatchMetrics"].([]any)
	if len(directives) == 0 {
		t.Fatalf("no CloudWatchMetrics: %v", aws)
	}
	for _, d := range directives {
		d := d.(map[string]any)
		if d["Namespace"] != telemetry.Namespace {
			t.Errorf("namespace %v", d["Namespace"])
		}
		for _, set := range d["Dimensions"].([]any) {
			for _, dim := range set.([]any) {
				if _, ok := line[dim.(string)].(string); !ok {
					t.Errorf("dimension %v is not a string field of the line", dim)
				}
			}
		}
		for _, m := range d["Metrics"].([]any) {
			name := m.(map[string]any)["Name"].(string)
			switch v := line[name].(type) {
			case float64:
			case []any:
				for _, x := range v {
					if _, ok := x.(float64); !ok {
						t.Errorf("metric %s has a non-numeric value %v", name, x)
					}
				}
			default:
				t.Errorf("metric %s has no numeric value on the line (%v)", name, v)
			}
		}
	}
}

func TestAttrsAreEMF(t *testing.T) {
	ctx, rec := telemetry.WithMetrics(context.Background())
	telemetry.Observe(ctx, telemetry.SumsubLatency, 120*time.Millisecond)
	telemetry.Observe(ctx, telemetry.SumsubLatency, 95*time.Millisecond)
	telemetry.Observe(ctx, telemetry.DynamoDBLatency, 4*time.Millisecond)
	telemetry.Observe(context.Background(), telemetry.DynamoDBLatency, time.Second) // no recorder: ignored
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).LogAttrs(ctx, slog.LevelInfo, "request", rec.Attrs("LINK_ISSUED", time.Now())...)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	CheckEMF(t, line)
	if line["Outcome"] != "LINK_ISSUED" || line["Requests"] != 1.0 {
		t.Fatalf("line = %v", line)
	}
	if s := line[telemetry.SumsubLatency].([]any); len(s) != 2 || s[0] != 120.0 {
		t.Fatalf("SumsubLatency = %v; want [120 95]", s)
	}
	if s := line[telemetry.DynamoDBLatency].([]any); len(s) != 1 || s[0] != 4.0 {
		t.Fatalf("DynamoDBLatency = %v; want [4]", s)
	}
}

package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/pkg/app"
)

// TestSubmissionEntry: the submission function is named for its binary,
// needs the aws backend (make run submits in process), and the relay's
// Lambda handler fails a batch of a stream it was not configured with
// (before any call), naming it.
func TestSubmissionEntry(t *testing.T) {
	if got := app.SubmissionFunction.Name(); got != "verification-submit" {
		t.Errorf("name %q", got)
	}
	cfg, err := app.ConfigFromEnv(func(string) string { return "" }, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.SubmissionFunction); err == nil ||
		!strings.Contains(err.Error(), "aws backend") {
		t.Errorf("the submission function on the memory backend: %v; want it refused", err)
	}

	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing is called
	env := map[string]string{"KYC_BACKEND": "aws", "WEBHOOK_OUTBOX_TABLE": "outbox", "VERIFICATIONS_TABLE": "verifications",
		"WEBHOOK_QUEUE_URL": "http://127.0.0.1:1/q", "SUBMISSION_QUEUE_URL": "http://127.0.0.1:1/s"}
	cfg, err = app.ConfigFromEnv(func(k string) string { return env[k] }, true)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.RelayFunction)
	if err != nil {
		t.Fatal(err)
	}
	for arn, want := range map[string]string{
		"arn:aws:dynamodb:us-east-1:1:table/platforms/stream/2026-01-01T00:00:00.000": `"arn:aws:dynamodb:us-east-1:1:table/platforms/stream/2026-01-01T00:00:00.000", of neither WEBHOOK_OUTBOX_TABLE (outbox), VERIFICATIONS_TABLE (verifications) nor CUSTOMERS_TABLE`,
		"": `a record of stream ""`,
	} {
		payload, _ := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "INSERT", EventSourceArn: arn}}})
		if _, err := relay.LambdaHandler().Invoke(context.Background(), payload); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a record of %q: %v; want the batch failed: %s", arn, err, want)
		}
	}
	// Records of its own streams that start nothing call nothing.
	payload, _ := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		{EventName: "MODIFY", EventSourceArn: "arn:aws:dynamodb:us-east-1:1:table/verifications/stream/x"},
		{EventName: "REMOVE", EventSourceArn: "arn:aws:dynamodb:us-east-1:1:table/outbox/stream/y"}}})
	if _, err := relay.LambdaHandler().Invoke(context.Background(), payload); err != nil {
		t.Errorf("records that start nothing: %v", err)
	}
}

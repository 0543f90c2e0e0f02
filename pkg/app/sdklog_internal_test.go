package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
)

// TestSDKWarningsAreJSONLines: a DynamoDB call cancelled while the answer's
// body is still arriving makes the SDK warn that it could not drain the
// body. That warning must be one of our JSON lines, and nothing may reach
// stderr as the SDK's own text ("SDK 2026/12/01 … WARN …").
func TestSDKWarningsAreJSONLines(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	dynamo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"Item":{"id":{"S":"`)
		w.(http.Flusher).Flush()
		select { // the rest of the body never comes
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer dynamo.Close()

	// The SDK's default logger writes to the os.Stderr of when the
	// configuration is loaded: catch anything written there.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = stderr }()
	for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": dynamo.URL,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_MAX_ATTEMPTS": "1"} {
		t.Setenv(k, v)
	}
	cfg, err := ConfigFromEnv(func(k string) string { return map[string]string{"KYC_BACKEND": "aws"}[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	a, err := Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), LinkFunction)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	db := a.root.stores.dynamodb
	_, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("customers"),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "Customer:x"}}})
	if err == nil {
		t.Fatal("GetItem succeeded against a body that never ends")
	}
	os.Stderr = stderr
	w.Close()
	stray, _ := io.ReadAll(r)
	if len(stray) > 0 {
		t.Errorf("the SDK wrote to stderr: %q", stray)
	}
	found := false
	sc := bufio.NewScanner(bytes.NewReader([]byte(logs.String())))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		msg, _ := line["sdk_message"].(string)
		found = found || line["level"] == "WARN" && strings.Contains(msg, "failed to discard remaining HTTP response body")
	}
	if !found {
		t.Errorf("the SDK's warning is not in the JSON log:\n%s", logs)
	}
}

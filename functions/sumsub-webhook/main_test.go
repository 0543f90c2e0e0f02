//go:build integration

package main_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/e2e"
	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/gridhook/gridhooktest"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

var binary string

func TestMain(m *testing.M) { os.Exit(e2e.Main(m, "sumsub-webhook", &binary)) }

// TestCrashAfterTheStatusWriteStillDelivers: the receiver records a
// decision (200) while the platform is down; the process is killed
// (SIGKILL) before the webhook is delivered; a new process delivers it,
// with the same id, exactly once: from the queue, as the new relay
// resumes the stream from the first one's checkpoint.
func TestCrashAfterTheStatusWriteStillDelivers(t *testing.T) {
	moto := motoserver.Start(t)
	signing, _, err := gridhook.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := gridhook.ParseSigningSecret(signing)
	platform := gridhooktest.New(&key.PublicKey)
	defer platform.Close()
	platform.SetStatus(503)

	st := motostack.New(t, moto, motostack.Options{Secrets: map[string]string{
		"SumsubSecretArn":            `{"appToken":"sbx:c","secretKey":"c","webhookSecret":"crash-webhook-secret"}`,
		"WebhookSigningKeySecretArn": signing,
	}})
	db := moto.DynamoDB()
	for table, item := range map[string]map[string]types.AttributeValue{
		st.Names["CustomersTable"]: awsstore.CustomerItem(kyc.Customer{ID: "Customer:crash", PlatformID: "p", Type: kyc.Individual,
			CreatedAt: time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC)}),
		st.Names["PlatformsTable"]: awsstore.PlatformItem(kyc.PlatformConfig{PlatformID: "p", WebhookEndpoint: platform.URL + "/grid"}),
	} {
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	env := append(st.Lines(), "KYC_BACKEND=aws",
		// A retry 5 s after the failed attempt: the kill lands well before
		// the first process could take the message again (a message it
		// holds would be hidden from the restarted one for 40 s).
		"WEBHOOK_ALLOW_LOOPBACK=true", "WEBHOOK_RETRY_BASE=5s",
		// Both processes keep the relay's checkpoint here: the restarted
		// one resumes the stream after what the first relayed.
		"XDG_CACHE_HOME="+cache)
	url, first, out := e2e.Start(t, binary, env...)

	body := []byte(`{"type":"applicantReviewed","externalUserId":"Customer:crash","createdAtMs":"` +
		sumsub.FormatCreatedAt(time.Now()) + `","reviewResult":{"reviewAnswer":"GREEN"}}`)
	digest, _ := sumsub.WebhookDigest("crash-webhook-secret", "", body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("X-Payload-Digest", digest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("receiver = %d; want 200", resp.StatusCode)
	}
	// The first process tries (the platform is down) and schedules the
	// retry, then dies: the restarted process resumes the stream after
	// the relayed record, so the webhook comes back from the queue.
	var id string
	checkpointed := func() bool {
		files, _ := filepath.Glob(filepath.Join(cache, "kyc-link", "relay", "*.json"))
		return len(files) == 1
	}
	for end := time.Now().Add(15 * time.Second); id == "" || !strings.Contains(out.String(), `"msg":"webhook attempt failed; retrying"`) || !checkpointed(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no failed delivery attempt and relay checkpoint before the crash; log:\n%s", out)
		}
		id = platform.LastID()
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	if n := len(platform.Received()); n != 0 {
		t.Fatalf("%d webhooks accepted before the crash; want none (the platform was down)", n)
	}

	platform.SetStatus(0)
	_, _, out2 := e2e.Start(t, binary, env...)
	for end := time.Now().Add(20 * time.Second); len(platform.Received()) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the restarted process did not deliver; log:\n%s%s", out, out2)
		}
	}
	if !strings.Contains(out2.String(), "resuming from the checkpoint") {
		t.Fatalf("the restarted relay did not resume from the checkpoint; log:\n%s", out2)
	}
	time.Sleep(time.Second) // a duplicate, if any, is answered 409 by now
	got := platform.Received()
	if len(got) != 1 || got[0].Envelope.ID != id || got[0].Envelope.Type != "CUSTOMER.KYC_APPROVED" {
		t.Fatalf("delivered %+v; want %s CUSTOMER.KYC_APPROVED once", got, id)
	}
	if all := out.String() + out2.String(); strings.Contains(all, "crash-webhook-secret") || strings.Contains(all, "PRIVATE KEY") {
		t.Fatal("a secret reached the log")
	}
}

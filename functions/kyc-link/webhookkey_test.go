//go:build integration

package main_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/gridhook/gridhooktest"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// decideByForm plays a decision on a sandbox page as its button does.
func decideByForm(t *testing.T, kycURL, decision string) {
	t.Helper()
	resp, err := http.PostForm(kycURL, url.Values{"decision": {decision}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("decision %s = %d", decision, resp.StatusCode)
	}
}

// TestWebhooksVerifyWithNode: a platform written in Node.js, pinning the
// key GET /sandbox/webhook-key serves and checking each webhook as Grid's
// own platform-side verifier does (crypto.verify("sha256", raw body, PEM,
// the s of {"v":"1","s":…})), accepts what make run delivers to it; pinned
// to another key it refuses them, and the retry verifies once it pins the
// right one.
func TestWebhooksVerifyWithNode(t *testing.T) {
	node := gridhooktest.StartNodePlatform(t)
	const customer = "Customer:019542f5-b3e7-1d02-0000-000000000007"
	seed := testSeed(t,
		[]map[string]any{individualOf(customer, "platform-node")},
		[]map[string]any{{"id": "platform-node", "webhookUrl": node.URL}},
		[]map[string]any{{"id": "node-token", "platformId": "platform-node", "secretSha256": auth.DigestHex("node-secret")}})
	base, logs := start(t, "KYC_SEED_FILE="+seed, "KYC_SIGNING_KEY_FILE="+filepath.Join(t.TempDir(), "key.pem"), "WEBHOOK_RETRY_BASE=1s")
	pemText, _ := servedKey(t, base)
	node.PinKey(t, pemText)

	decideByForm(t, link(t, base, "node-token:node-secret", customer, `{}`), sandbox.Approve)
	var types []string
	for range 2 {
		r := node.Next(t, 20*time.Second)
		if !r.Verified || r.Duplicate {
			t.Fatalf("the Node platform refused %+v; log:\n%s", r, logs)
		}
		types = append(types, r.Type)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"CUSTOMER.KYC_APPROVED", "CUSTOMER.KYC_PENDING"}) {
		t.Fatalf("the Node platform verified %v", types)
	}

	// The check is not vacuous: pinned to another key, Node refuses the
	// next webhook (401); pinned to the right one again, the retry of the
	// same webhook verifies.
	_, other, err := gridhook.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	node.PinKey(t, other)
	decideByForm(t, link(t, base, "node-token:node-secret", customer, `{}`), sandbox.Reject)
	var refused gridhooktest.NodeResult
	for refused.Type != "CUSTOMER.KYC_REJECTED" {
		refused = node.Next(t, 20*time.Second)
		if refused.Verified {
			t.Fatalf("the Node platform pinned to another key accepted %+v", refused)
		}
	}
	node.PinKey(t, pemText)
	for {
		r := node.Next(t, 20*time.Second)
		if r.ID == refused.ID {
			if !r.Verified {
				t.Fatalf("the retry of %s was refused with the right key", r.ID)
			}
			break
		}
	}
}

// TestKeyFileSurvivesRestarts: make run with KYC_SIGNING_KEY_FILE serves
// the same key after a restart, creates the file (and its folder) owner-only
// on first start, and makes a new key once the file is deleted.
func TestKeyFileSurvivesRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bin", "sandbox-signing-key.pem")
	served := func() string {
		var pemText string
		t.Run("start", func(t *testing.T) { // the process stops when the subtest ends
			base, _ := start(t, "KYC_SIGNING_KEY_FILE="+file)
			pemText, _ = servedKey(t, base)
		})
		return pemText
	}
	first := served()
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v; want it made, mode 0600", fi, err)
	}
	if second := served(); second != first {
		t.Fatal("a restart serves another key")
	}
	os.Remove(file)
	if third := served(); third == first || third == "" {
		t.Fatal("deleting the key file did not give a new key")
	}
}

// TestABrokenKeyFileIsNamed: make run refuses to start on a key file it
// cannot read as a key, and says which file and what to do.
func TestABrokenKeyFileIsNamed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(file, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), 0o600)
	// A binary that starts anyway is stopped, not waited for.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary)
	cmd.Env = append(os.Environ(), "PORT=0", "AWS_LAMBDA_RUNTIME_API=", "KYC_SIGNING_KEY_FILE="+file)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the binary started on a broken key file:\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "KYC_SIGNING_KEY_FILE") || !strings.Contains(string(out), file) || !strings.Contains(string(out), "delete it") {
		t.Fatalf("start with a broken key file: %v\n%s", err, out)
	}
}

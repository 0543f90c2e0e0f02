//go:build integration

package gridhook_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/gridhook/gridhooktest"
)

// TestNodeVerifiesTheSignature: a platform on Node.js parses X-Grid-Signature
// as Grid's own platform-side verifier does ({"v":"1","s":…}, v a string, or
// a bare base64 signature) and checks it with crypto.verify("sha256", raw
// body, pinned PEM); it must accept ours and nothing else. The same Node
// verifier checks webhooks from the running server end to end
// (functions/kyc-link TestWebhooksVerifyWithNode).
func TestNodeVerifiesTheSignature(t *testing.T) {
	secret, public := newKey(t)
	key, _ := gridhook.ParseSigningSecret(secret)
	_, otherPublic := newKey(t)
	body := []byte(`{"id":"Webhook:019","type":"CUSTOMER.KYB_PENDING","data":{"id":"Customer:1","email":"é@example.com"}}`)
	h, _ := gridhook.Sign(key, body)
	var sig struct{ S string }
	json.Unmarshal([]byte(h), &sig)
	for _, tc := range []struct {
		name, pub, header string
		body              []byte
		want              bool
	}{
		{"signed body", public, h, body, true},
		{"bare base64 header", public, sig.S, body, true},
		{"other body", public, h, append(append([]byte{}, body...), ' '), false},
		{"other key", otherPublic, h, body, false},
		{"version 2", public, strings.Replace(h, `"v":"1"`, `"v":"2"`, 1), body, false},
		{"no header", public, "", body, false},
	} {
		if got := gridhooktest.NodeVerify(t, tc.pub, tc.header, tc.body); got != tc.want {
			t.Errorf("%s: node verify = %v; want %v", tc.name, got, tc.want)
		}
	}
}

// TestFingerprintIsOpenSSLs: the fingerprint the banner, the inbox and
// /sandbox/webhook-key show is what docs/webhooks.md's openssl command prints
// for the served PEM.
func TestFingerprintIsOpenSSLs(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed (it ships with this project's machine image): " + err.Error())
	}
	secret, public := newKey(t)
	k, _ := gridhook.ParseSigningSecret(secret)
	cmd := exec.Command("sh", "-c", "openssl pkey -pubin -outform DER | openssl dgst -sha256 -r")
	cmd.Stdin = strings.NewReader(public)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(out))[0]
	if got := gridhook.Fingerprint(&k.PublicKey); got != want || len(got) != 64 {
		t.Fatalf("Fingerprint = %q; openssl says %q", got, want)
	}
}

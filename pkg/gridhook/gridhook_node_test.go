//go:build integration

package gridhook_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
)

// TestNodeVerifiesTheSignature: a platform on Node.js verifies with
// crypto.createVerify("SHA256") and the pinned PEM; it must accept ours.
func TestNodeVerifiesTheSignature(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; it ships with this project's machine image")
	}
	secret, public := newKey(t)
	key, _ := gridhook.ParseSigningSecret(secret)
	body := `{"id":"Webhook:019","type":"CUSTOMER.KYB_PENDING","data":{"id":"Customer:1"}}`
	h, _ := gridhook.Sign(key, []byte(body))
	var sig struct{ S string }
	json.Unmarshal([]byte(h), &sig)
	script := `const c=require("crypto");const e=process.env;` +
		`const v=c.createVerify("SHA256");v.update(Buffer.from(e.BODY));process.stdout.write(String(v.verify(e.PUB,Buffer.from(e.SIG,"base64"))));`
	for name, b := range map[string]string{"signed body": body, "other body": body + " "} {
		cmd := exec.Command(node, "-e", script)
		cmd.Env = append(os.Environ(), "PUB="+public, "BODY="+b, "SIG="+sig.S)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v: %s", err, out)
		}
		if want := map[string]string{"signed body": "true", "other body": "false"}[name]; string(out) != want {
			t.Errorf("%s: node verify = %s; want %s", name, out, want)
		}
	}
}

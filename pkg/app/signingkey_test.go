package app_test

import (
	"context"
	"crypto/ecdsa"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// localRun wires the app as make run does (memory backend, sandbox
// provider) with env, and returns it, its signing key and its handler.
func localRun(t *testing.T, env map[string]string) (*app.Service, *ecdsa.PrivateKey, http.Handler, *logbuf.Buffer) {
	t.Helper()
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "http://127.0.0.1:3000"
	logs := &logbuf.Buffer{}
	a, err := app.Build(context.Background(), cfg, logs.Logger(), app.AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	k, err := a.Inbox.Key(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return a, k, a.Handler(), logs
}

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func TestSigningKeyFileIsReadOutsideLambdaOnly(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"KYC_SIGNING_KEY_FILE": "bin/sandbox-signing-key.pem"}[k]
	}
	local, _ := app.ConfigFromEnv(env, false)
	lambda, _ := app.ConfigFromEnv(env, true)
	if local.SigningKeyFile != "bin/sandbox-signing-key.pem" || lambda.SigningKeyFile != "" {
		t.Fatalf("SigningKeyFile local %q, Lambda %q; want the file locally and nothing under Lambda", local.SigningKeyFile, lambda.SigningKeyFile)
	}
}

// TestLocalRunsKeepTheirKeyAcrossRestarts: with KYC_SIGNING_KEY_FILE (as
// make run sets it) a restart signs with the same key, the key is printed
// and served; deleting the file gives a new key.
func TestLocalRunsKeepTheirKeyAcrossRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bin", "sandbox-signing-key.pem")
	env := map[string]string{"KYC_SIGNING_KEY_FILE": file}
	a, first, h, logs := localRun(t, env)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if !strings.Contains(logs.String(), `"msg":"sandbox signing key created"`) || strings.Contains(logs.String(), "PRIVATE") {
		t.Fatalf("log = %s; want one line saying the key was made, no key in it", logs)
	}
	banner := a.SigningKeyBanner(context.Background())
	for _, want := range []string{gridhook.PublicPEM(first), gridhook.Fingerprint(&first.PublicKey), "kept in " + file,
		"delete the file for a new key", "GET http://127.0.0.1:3000" + sandbox.WebhookKeyPath} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, "PRIVATE") {
		t.Fatal("the banner prints the private key")
	}
	w := serve(h, "GET", sandbox.WebhookKeyPath)
	if w.Code != 200 || w.Body.String() != gridhook.PublicPEM(first) || w.Header().Get("Content-Type") != "application/x-pem-file" {
		t.Fatalf("%s = %d %v %q", sandbox.WebhookKeyPath, w.Code, w.Header(), w.Body)
	}
	if w := serve(h, "GET", sandbox.FaviconPath); w.Code != 200 || w.Header().Get("Content-Type") != "image/x-icon" {
		t.Fatalf("%s = %d %v", sandbox.FaviconPath, w.Code, w.Header())
	}

	_, again, _, logs := localRun(t, env)
	if !again.Equal(first) || strings.Contains(logs.String(), "created") {
		t.Fatal("a restart with the same key file signs with another key")
	}
	os.Remove(file)
	if _, fresh, _, _ := localRun(t, env); fresh.Equal(first) {
		t.Fatal("deleting the key file did not give a new key")
	}
}

func TestWithoutAKeyFileEachRunHasItsOwnKey(t *testing.T) {
	a, first, _, _ := localRun(t, nil)
	_, second, _, _ := localRun(t, nil)
	if first.Equal(second) {
		t.Fatal("two runs without KYC_SIGNING_KEY_FILE share a key")
	}
	banner := a.SigningKeyBanner(context.Background())
	if !strings.Contains(banner, "made for this process only") || !strings.Contains(banner, gridhook.PublicPEM(first)) {
		t.Fatalf("banner:\n%s", banner)
	}
}

func TestABrokenKeyFileStopsTheStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(file, []byte("not a key"), 0o600)
	cfg, _ := app.ConfigFromEnv(func(k string) string { return map[string]string{"KYC_SIGNING_KEY_FILE": file}[k] }, false)
	if _, err := app.Build(context.Background(), cfg, (&logbuf.Buffer{}).Logger(), app.AllInOne); err == nil || !strings.Contains(err.Error(), "KYC_SIGNING_KEY_FILE") || !strings.Contains(err.Error(), file) {
		t.Fatalf("Build = %v; want an error naming the variable and the file", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "not a key" {
		t.Fatal("the broken file was overwritten")
	}
}

// TestSandboxRoutesOnlyWithTheSandbox: without the sandbox provider there
// is no inbox, no key URL and no icon: the API's own 404.
func TestSandboxRoutesOnlyWithTheSandbox(t *testing.T) {
	cfg, _ := app.ConfigFromEnv(func(k string) string { return map[string]string{"KYC_PROVIDER": "sumsub"}[k] }, false)
	a, err := app.Build(context.Background(), cfg, (&logbuf.Buffer{}).Logger(), app.AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{sandbox.WebhookKeyPath, sandbox.FaviconPath, sandbox.InboxPrefix} {
		w := serve(a.Handler(), "GET", path)
		body, _ := io.ReadAll(w.Body)
		if w.Code != 404 || !strings.Contains(string(body), `"code":"NOT_FOUND"`) {
			t.Errorf("%s = %d %s; want the Grid 404", path, w.Code, body)
		}
	}
}

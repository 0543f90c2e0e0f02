package gridhook_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
)

func TestKeyFileIsCreatedOnceThenKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "sandbox-signing-key.pem")
	k, created, err := gridhook.LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateKeyFile = %v, created %v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v; want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("created folder mode %v; want 0700", di.Mode().Perm())
	}
	again, created, err := gridhook.LoadOrCreateKeyFile(path)
	if err != nil || created || !again.Equal(k) {
		t.Fatalf("second LoadOrCreateKeyFile = %v, created %v, same key %v", err, created, again.Equal(k))
	}
	// It is the PKCS#8 key the signing secret holds: the deployed format.
	secret, err := gridhook.SigningSecret(k)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := gridhook.ParseSigningSecret(secret)
	if err != nil || !parsed.Equal(k) {
		t.Fatalf("ParseSigningSecret(SigningSecret(k)) = %v", err)
	}
	// Nothing is left beside it.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries; want only the key file", len(entries))
	}
}

func TestKeyFileReadsOpenSSLKeys(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(k)
	path := filepath.Join(t.TempDir(), "k.pem")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), 0o600)
	got, created, err := gridhook.LoadOrCreateKeyFile(path)
	if err != nil || created || !got.Equal(k) {
		t.Fatalf("SEC1 key file = %v, created %v", err, created)
	}
}

func TestKeyFileRefusesOtherContentAndKeepsIt(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(p384)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(p384)
	_, public, _ := gridhook.NewKey()
	for name, content := range map[string]string{
		"empty":          "",
		"not PEM":        "hello",
		"public key":     public,
		"P-384 SEC1":     string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})),
		"P-384 PKCS#8":   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		"broken PKCS#8":  "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"broken EC SEC1": "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.pem")
			os.WriteFile(path, []byte(content), 0o600)
			if _, _, err := gridhook.LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "delete it") {
				t.Fatalf("err = %v; want one naming the file and the way out", err)
			}
			if after, _ := os.ReadFile(path); string(after) != content {
				t.Fatal("the file was changed")
			}
		})
	}
}

func TestKeyFileConcurrentStartsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.pem")
	const n = 16
	keys := make([]*ecdsa.PrivateKey, n)
	var wg sync.WaitGroup
	created := make(chan bool, n)
	for i := range n {
		wg.Go(func() {
			k, c, err := gridhook.LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
			created <- c
		})
	}
	wg.Wait()
	close(created)
	made := 0
	for c := range created {
		if c {
			made++
		}
	}
	if made != 1 {
		t.Errorf("%d processes created the key; want 1", made)
	}
	for _, k := range keys {
		if k == nil || !k.Equal(keys[0]) {
			t.Fatal("concurrent starts got different keys")
		}
	}
}

package gridhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreateKeyFile returns the P-256 signing key kept in the PEM file at
// path (PKCS#8 "PRIVATE KEY", or SEC1 "EC PRIVATE KEY" as `openssl ecparam
// -genkey` writes it). When there is no file it makes a key and writes it
// there as PKCS#8, readable by the owner only (0600), creating missing
// parent folders (0700); created says so. A file that exists but holds no
// such key is an error and is left alone. The file appears whole or not at
// all (written beside it, then linked into place), so two processes
// starting at once end up with one key.
func LoadOrCreateKeyFile(path string) (k *ecdsa.PrivateKey, created bool, err error) {
	if k, err := readKeyFile(path); !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // 0600
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Close(); err != nil {
		return nil, false, err
	}
	switch err := os.Link(tmp.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		// Another process wrote it first: use its key.
		k, err := readKeyFile(path)
		return k, false, err
	case err != nil:
		return nil, false, err
	}
	return k, true, nil
}

func readKeyFile(path string) (*ecdsa.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block; delete it to get a new key", path)
	}
	var k *ecdsa.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err = ParsePrivateKey(string(pem.EncodeToMemory(block)))
	case "EC PRIVATE KEY":
		if k, err = x509.ParseECPrivateKey(block.Bytes); err == nil && k.Curve != elliptic.P256() {
			err = errors.New("the key is not an ECDSA P-256 key")
		}
	default:
		err = fmt.Errorf("a %q PEM block, not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w; delete it to get a new key", path, err)
	}
	return k, nil
}

// SigningSecret is k in the signing key secret's format
// ({"privateKeyPem": PKCS#8 PEM}), which ParseSigningSecret reads.
func SigningSecret(k *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	secret, err := json.Marshal(map[string]string{"privateKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	return string(secret), err
}

// Fingerprint names a public key: the lowercase hex SHA-256 of its DER
// (PKIX SubjectPublicKeyInfo) encoding, which is what
// `openssl pkey -pubin -in key.pem -outform DER | openssl dgst -sha256`
// prints for the PEM a platform pins.
func Fingerprint(pub *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

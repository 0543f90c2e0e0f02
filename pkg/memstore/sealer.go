package memstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"strconv"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Sealer encrypts with AES-256-GCM under a key that lives only in this
// process, with the customer and platform ids as additional data: what it
// stores is never the plaintext, and a ciphertext opens only for the
// customer it was sealed for. For local runs and tests; a restart makes
// earlier ciphertexts unreadable, which nothing here needs.
type Sealer struct {
	aead cipher.AEAD
}

var _ kyc.Sealer = (*Sealer)(nil)

// sealerVersion starts every ciphertext.
const sealerVersion = "mem1"

// NewSealer returns a Sealer with a fresh random key.
func NewSealer() *Sealer {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return &Sealer{aead: aead}
}

func context2(customerID, platformID string) []byte {
	return []byte(strconv.Itoa(len(customerID)) + ":" + customerID + platformID)
}

func (s *Sealer) Seal(_ context.Context, plaintext []byte, customerID, platformID string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := append([]byte(sealerVersion), nonce...)
	return s.aead.Seal(out, nonce, plaintext, context2(customerID, platformID)), nil
}

// Open decrypts what Seal made for the same customer and platform (tests
// use it; the service never reads a sealed value back).
func (s *Sealer) Open(ciphertext []byte, customerID, platformID string) ([]byte, error) {
	n := len(sealerVersion) + s.aead.NonceSize()
	if len(ciphertext) < n || string(ciphertext[:len(sealerVersion)]) != sealerVersion {
		return nil, errors.New("memstore: not a sealed value")
	}
	return s.aead.Open(nil, ciphertext[len(sealerVersion):n], ciphertext[n:], context2(customerID, platformID))
}

var _ kyc.Opener = (*Sealer)(nil)

// Unseal is Open as the provider's submission needs it (kyc.Opener).
func (s *Sealer) Unseal(_ context.Context, ciphertext []byte, customerID, platformID string) ([]byte, error) {
	b, err := s.Open(ciphertext, customerID, platformID)
	if err != nil {
		return nil, kyc.Internal(err)
	}
	return b, nil
}

// Package auth authenticates platforms by HTTP Basic credentials checked
// against SHA-256 digests of their client secrets.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrBadCredentials is every authentication failure. Callers get one answer
// whatever went wrong, so a probe learns nothing about which ids exist.
var ErrBadCredentials = errors.New("missing or invalid credentials")

// maxHeader bounds the Authorization header we are willing to decode.
const maxHeader = 4096

// ParseBasic splits an Authorization header of the Basic scheme into its
// token id and secret. Both must be non-empty.
func ParseBasic(header string) (id, secret string, err error) {
	if len(header) > maxHeader {
		return "", "", ErrBadCredentials
	}
	scheme, payload, ok := strings.Cut(header, " ")
	// RFC 9110 makes the scheme case-insensitive.
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", ErrBadCredentials
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return "", "", ErrBadCredentials
	}
	id, secret, ok = strings.Cut(string(raw), ":")
	if !ok || id == "" || secret == "" {
		return "", "", ErrBadCredentials
	}
	return id, secret, nil
}

// Token is one API token: its id, the platform it acts for and the SHA-256
// digest of its client secret. The secret itself is never stored.
type Token struct {
	ID           string `json:"id"`
	PlatformID   string `json:"platformId"`
	SecretSHA256 string `json:"secretSha256"`
}

// Tokens indexes tokens by id, with digests decoded.
type Tokens map[string]entry

type entry struct {
	platformID string
	digest     [sha256.Size]byte
}

// ParseTokens reads the API tokens secret:
// {"tokens":[{"id":…,"platformId":…,"secretSha256":…}]}.
func ParseTokens(s string) (Tokens, error) {
	var doc struct {
		Tokens []Token `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, errors.New(`want JSON {"tokens":[{"id","platformId","secretSha256"}]}`)
	}
	out := make(Tokens, len(doc.Tokens))
	for i, t := range doc.Tokens {
		d, err := hex.DecodeString(t.SecretSHA256)
		if t.ID == "" || t.PlatformID == "" || err != nil || len(d) != sha256.Size {
			return nil, fmt.Errorf("token %d: want non-empty id and platformId and a 64-digit hex secretSha256", i)
		}
		e := entry{platformID: t.PlatformID}
		copy(e.digest[:], d)
		out[t.ID] = e
	}
	return out, nil
}

// TokenCache supplies the current tokens. Refresh asks the source again in
// the background (at most as often as the cache allows) without waiting.
type TokenCache interface {
	Get(ctx context.Context) (Tokens, error)
	Refresh() bool
}

// Authenticator checks Basic credentials against the tokens.
type Authenticator struct {
	Tokens TokenCache
}

// Authenticate returns the platform id the credentials act for. A failure to
// load the tokens is returned as is; every credential problem is
// ErrBadCredentials.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (platformID string, err error) {
	id, secret, err := ParseBasic(header)
	if err != nil {
		return "", err
	}
	tokens, err := a.Tokens.Get(ctx)
	if err != nil {
		return "", err
	}
	e, ok := tokens[id]
	if !ok {
		// A token created a moment ago may not be in our copy yet: reload
		// in the background, so it works on the next request. This one is
		// refused now, so an unknown id costs the same whether or not a
		// reload starts (no timing oracle for which ids exist).
		a.Tokens.Refresh()
	}
	// Compare even for an unknown id so both paths cost the same.
	digest := sha256.Sum256([]byte(secret))
	match := subtle.ConstantTimeCompare(digest[:], e.digest[:]) == 1
	if !ok || !match {
		return "", ErrBadCredentials
	}
	return e.platformID, nil
}

// DigestHex is the stored form of a client secret.
func DigestHex(secret string) string {
	d := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(d[:])
}

// NewToken makes an API token for platformID: a random id and a 256-bit
// client secret. The secret is returned once, to give to the platform;
// only its digest is ever stored.
func NewToken(platformID string) (Token, string) {
	id, secret := "tok_"+rand.Text()[:16], rand.Text()+rand.Text()
	return Token{ID: id, PlatformID: platformID, SecretSHA256: DigestHex(secret)}, secret
}

// AddToken returns the tokens secret s with t added, keeping every other
// field and token as it was.
func AddToken(s string, t Token) (string, error) {
	doc := map[string]json.RawMessage{}
	if strings.TrimSpace(s) != "" {
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			return "", errors.New(`the tokens secret is not a JSON object {"tokens":[…]}`)
		}
	}
	var tokens []json.RawMessage
	if raw, ok := doc["tokens"]; ok {
		if err := json.Unmarshal(raw, &tokens); err != nil {
			return "", errors.New(`the tokens secret's "tokens" is not a list`)
		}
	}
	entry, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	tokens = append(tokens, entry)
	if doc["tokens"], err = json.Marshal(tokens); err != nil {
		return "", err
	}
	out, err := json.Marshal(doc)
	return string(out), err
}

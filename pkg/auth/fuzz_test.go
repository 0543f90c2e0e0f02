package auth_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/auth"
)

// FuzzParseBasic: any header either parses into a non-empty id and secret
// that re-encode to the same credentials, or is ErrBadCredentials.
func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{basic("a:b"), "Basic", "Bearer x", "basic " + base64.StdEncoding.EncodeToString([]byte(":")), "Basic  YTpi ", "Basic ===="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		id, secret, err := auth.ParseBasic(header)
		if err != nil {
			if !errors.Is(err, auth.ErrBadCredentials) || id != "" || secret != "" {
				t.Fatalf("ParseBasic(%q) = %q, %q, %v", header, id, secret, err)
			}
			return
		}
		if id == "" || secret == "" || strings.Contains(id, ":") {
			t.Fatalf("ParseBasic(%q) = %q, %q", header, id, secret)
		}
		_, payload, _ := strings.Cut(header, " ")
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
		if string(raw) != id+":"+secret {
			t.Fatalf("ParseBasic(%q) = %q, %q; does not round-trip", header, id, secret)
		}
	})
}

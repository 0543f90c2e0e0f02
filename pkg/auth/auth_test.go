package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
)

func basic(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseBasic(t *testing.T) {
	for _, tc := range []struct {
		header, id, secret string
		ok                 bool
	}{
		{basic("tok:sec"), "tok", "sec", true},
		{"basic " + base64.StdEncoding.EncodeToString([]byte("tok:sec")), "tok", "sec", true},
		{"Basic   " + base64.StdEncoding.EncodeToString([]byte("tok:sec")) + " ", "tok", "sec", true},
		{basic("tok:se:c"), "tok", "se:c", true},
		{"", "", "", false},
		{"Bearer abc", "", "", false},
		{"Basic", "", "", false},
		{"Basic !!!", "", "", false},
		{basic("no-colon"), "", "", false},
		{basic(":sec"), "", "", false},
		{basic("tok:"), "", "", false},
		{"Basic " + strings.Repeat("A", 5000), "", "", false},
	} {
		id, secret, err := auth.ParseBasic(tc.header)
		if tc.ok != (err == nil) || id != tc.id || secret != tc.secret {
			t.Errorf("ParseBasic(%.40q) = %q, %q, %v", tc.header, id, secret, err)
		}
		if err != nil && !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("ParseBasic(%.40q) error %v is not ErrBadCredentials", tc.header, err)
		}
	}
}

func tokensJSON(tokens ...[3]string) string {
	var parts []string
	for _, t := range tokens {
		parts = append(parts, fmt.Sprintf(`{"id":%q,"platformId":%q,"secretSha256":%q}`, t[0], t[1], auth.DigestHex(t[2])))
	}
	return `{"tokens":[` + strings.Join(parts, ",") + `]}`
}

func TestAuthenticate(t *testing.T) {
	src := secrets.Memory{"t": tokensJSON([3]string{"tok-a", "platform-a", "secret-a"})}
	now := time.Unix(0, 0)
	cache := &secrets.Cached[auth.Tokens]{Source: src, ID: "t", Parse: auth.ParseTokens,
		MaxAge: 5 * time.Minute, MinInterval: 30 * time.Second, Now: func() time.Time { return now }}
	a := &auth.Authenticator{Tokens: cache}
	ctx := context.Background()

	if p, err := a.Authenticate(ctx, basic("tok-a:secret-a")); err != nil || p != "platform-a" {
		t.Fatalf("good credentials = %q, %v", p, err)
	}
	for _, h := range []string{basic("tok-a:wrong"), basic("tok-x:secret-a"), "Bearer x", ""} {
		if _, err := a.Authenticate(ctx, h); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("Authenticate(%q) = %v; want ErrBadCredentials", h, err)
		}
	}
	// A token added to the secret works after at most one early refresh,
	// once 30 s have passed since the last look.
	src["t"] = tokensJSON([3]string{"tok-a", "platform-a", "secret-a"}, [3]string{"tok-b", "platform-b", "secret-b"})
	if _, err := a.Authenticate(ctx, basic("tok-b:secret-b")); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("new token inside the refresh interval = %v; want refused (rate-limited refresh)", err)
	}
	now = now.Add(31 * time.Second)
	if p, err := a.Authenticate(ctx, basic("tok-b:secret-b")); err != nil || p != "platform-b" {
		t.Fatalf("new token after the interval = %q, %v", p, err)
	}
}

func TestAuthenticateTokenSourceDown(t *testing.T) {
	a := &auth.Authenticator{Tokens: &secrets.Cached[auth.Tokens]{Source: secrets.Memory{}, ID: "missing", Parse: auth.ParseTokens}}
	_, err := a.Authenticate(context.Background(), basic("a:b"))
	if err == nil || errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("Authenticate with no token secret = %v; want a load error, not bad credentials", err)
	}
}

func TestParseTokensRejectsBadEntriesWithoutQuotingThem(t *testing.T) {
	for _, s := range []string{`not json`, `{"tokens":[{"id":"a","platformId":"p","secretSha256":"zz"}]}`,
		`{"tokens":[{"id":"","platformId":"p","secretSha256":"` + auth.DigestHex("x") + `"}]}`} {
		_, err := auth.ParseTokens(s)
		if err == nil {
			t.Errorf("ParseTokens(%q) accepted", s)
			continue
		}
		if strings.Contains(err.Error(), "zz") || strings.Contains(err.Error(), "not json") {
			t.Errorf("ParseTokens error quotes the secret: %v", err)
		}
	}
}

package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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

// tokenSource is a tokens secret that tests can change and hold while the
// cache's background load reads it.
type tokenSource struct {
	mu      sync.Mutex
	value   string
	held    chan struct{} // non-nil: calls wait until it is closed
	started chan struct{}
}

func (s *tokenSource) set(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value = v
}

func (s *tokenSource) SecretString(ctx context.Context, _ string) (string, error) {
	s.mu.Lock()
	held, v := s.held, s.value
	s.mu.Unlock()
	if held != nil {
		s.started <- struct{}{}
		select {
		case <-held:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return v, nil
}

func TestAuthenticate(t *testing.T) {
	src := &tokenSource{value: tokensJSON([3]string{"tok-a", "platform-a", "secret-a"})}
	var now atomic.Int64
	cache := &secrets.Cached[auth.Tokens]{Source: src, ID: "t", Parse: auth.ParseTokens,
		MaxAge: 5 * time.Minute, MinInterval: 5 * time.Second, Now: func() time.Time { return time.Unix(now.Load(), 0) }}
	a := &auth.Authenticator{Tokens: cache}
	ctx := context.Background()

	if p, err := a.Authenticate(ctx, basic("tok-a:secret-a")); err != nil || p != "platform-a" {
		t.Fatalf("good credentials = %q, %v; want platform-a", p, err)
	}
	for _, h := range []string{basic("tok-a:wrong"), basic("tok-x:secret-a"), "Bearer x", ""} {
		if _, err := a.Authenticate(ctx, h); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("Authenticate(%q) = %v; want ErrBadCredentials", h, err)
		}
	}
	cache.Wait(ctx) // the unknown id above started a reload at most
	// A token added to the secret: its first use is refused and starts a
	// reload (at most one per MinInterval); once that ends it works.
	src.set(tokensJSON([3]string{"tok-a", "platform-a", "secret-a"}, [3]string{"tok-b", "platform-b", "secret-b"}))
	now.Add(6)
	if _, err := a.Authenticate(ctx, basic("tok-b:secret-b")); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("new token before the reload = %v; want refused", err)
	}
	cache.Wait(ctx)
	if p, err := a.Authenticate(ctx, basic("tok-b:secret-b")); err != nil || p != "platform-b" {
		t.Fatalf("new token after the reload = %q, %v; want platform-b", p, err)
	}
}

// TestUnknownIDDoesNotWaitForTheReload: the 401 for an unknown id is
// answered while the reload it started still hangs, and a known token is
// not held by it either; so an unknown id costs the same with or without
// a reload.
func TestUnknownIDDoesNotWaitForTheReload(t *testing.T) {
	src := &tokenSource{value: tokensJSON([3]string{"tok-a", "platform-a", "secret-a"})}
	cache := &secrets.Cached[auth.Tokens]{Source: src, ID: "t", Parse: auth.ParseTokens, MaxAge: time.Hour}
	a := &auth.Authenticator{Tokens: cache}
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, basic("tok-a:secret-a")); err != nil {
		t.Fatal(err)
	}
	held := make(chan struct{})
	defer close(held)
	src.mu.Lock()
	src.held, src.started = held, make(chan struct{}, 10)
	src.mu.Unlock()

	type result struct {
		platform string
		err      error
	}
	results := make(chan result, 2)
	go func() {
		p, err := a.Authenticate(ctx, basic("tok-new:secret"))
		results <- result{p, err}
	}()
	<-src.started // the reload is running and hangs
	go func() {
		p, err := a.Authenticate(ctx, basic("tok-a:secret-a"))
		results <- result{p, err}
	}()
	for range 2 {
		select {
		case r := <-results:
			if r.err != nil && !errors.Is(r.err, auth.ErrBadCredentials) || r.err == nil && r.platform != "platform-a" {
				t.Fatalf("Authenticate = %q, %v", r.platform, r.err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Authenticate waited for a hanging reload")
		}
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

func TestNewTokenAndAddToken(t *testing.T) {
	tok, secret := auth.NewToken("platform-x")
	if tok.PlatformID != "platform-x" || tok.SecretSHA256 != auth.DigestHex(secret) || len(secret) < 40 {
		t.Fatalf("NewToken = %+v with a %d-character secret", tok, len(secret))
	}
	s, err := auth.AddToken(tokensJSON([3]string{"tok-a", "platform-a", "secret-a"}), tok)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.ParseTokens(s)
	if err != nil || len(tokens) != 2 {
		t.Fatalf("after AddToken: %d tokens, %v; want the old one and the new one", len(tokens), err)
	}
	a := &auth.Authenticator{Tokens: &secrets.Cached[auth.Tokens]{Source: secrets.Memory{"t": s}, ID: "t", Parse: auth.ParseTokens, MaxAge: time.Hour}}
	if p, err := a.Authenticate(context.Background(), basic(tok.ID+":"+secret)); err != nil || p != "platform-x" {
		t.Fatalf("the new token = %q, %v; want platform-x", p, err)
	}
	if _, err := auth.AddToken("[1]", tok); err == nil {
		t.Fatal("AddToken to a non-object was accepted")
	}
}

package httpapi_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// countingStore counts every idempotency store call.
type countingStore struct {
	idempotency.Store
	calls atomic.Int32
}

func (c *countingStore) Acquire(ctx context.Context, r idempotency.Record, now time.Time) (*idempotency.Record, error) {
	c.calls.Add(1)
	return c.Store.Acquire(ctx, r, now)
}

func (c *countingStore) Get(ctx context.Context, k string) (*idempotency.Record, error) {
	c.calls.Add(1)
	return c.Store.Get(ctx, k)
}

func (c *countingStore) Complete(ctx context.Context, k, t string, r idempotency.Response) error {
	c.calls.Add(1)
	return c.Store.Complete(ctx, k, t, r)
}

func (c *countingStore) Release(ctx context.Context, k, t string) error {
	c.calls.Add(1)
	return c.Store.Release(ctx, k, t)
}

type badCase struct {
	name   string
	r      req
	status int
	code   string
	field  string // details.field, for 400s
}

func withKey(r req) req {
	r.header["Idempotency-Key"] = "bad-input-key"
	return r
}

func method(m string, r req) req {
	r.method = m
	return r
}

func uri(u string) req { return withKey(post(link(custA), `{"redirectUri":`+u+`}`)) }

func badCases() []badCase {
	b64 := base64.StdEncoding.EncodeToString
	auth := func(h string) req { return withKey(post(link(custA), `{}`, "Authorization", h)) }
	body := func(s string) req { return withKey(post(link(custA), s)) }
	path := func(p string) req { return withKey(post(p, ``)) }
	key := func(k string) req { return post(link(custA), ``, "Idempotency-Key", k) }
	const bad, unauth = 400, 401
	return []badCase{
		// Body.
		{"malformed JSON", body(`{"redirectUri":`), bad, "INVALID_INPUT", "body"},
		{"truncated", body(`{"redirectUri":"https://a.exa`), bad, "INVALID_INPUT", "body"},
		{"lone brace", body(`{`), bad, "INVALID_INPUT", "body"},
		{"array", body(`[]`), bad, "INVALID_INPUT", "body"},
		{"array of object", body(`[{"redirectUri":"https://a.example"}]`), bad, "INVALID_INPUT", "body"},
		{"null", body(`null`), bad, "INVALID_INPUT", "body"},
		{"string", body(`"x"`), bad, "INVALID_INPUT", "body"},
		{"number", body(`42`), bad, "INVALID_INPUT", "body"},
		{"true", body(`true`), bad, "INVALID_INPUT", "body"},
		{"trailing object", body(`{} {}`), bad, "INVALID_INPUT", "body"},
		{"trailing garbage", body(`{}x`), bad, "INVALID_INPUT", "body"},
		{"nested junk", body(`{"redirectUri":"https://a.example","x":{"y":[1,{"z":null}]}}`), bad, "INVALID_INPUT", "x"},
		{"unknown snake field", body(`{"redirect_uri":"https://a.example"}`), bad, "INVALID_INPUT", "redirect_uri"},
		{"unknown field only", body(`{"foo":1}`), bad, "INVALID_INPUT", "foo"},
		{"case-variant field", body(`{"RedirectUri":"https://a.example"}`), bad, "INVALID_INPUT", "RedirectUri"},
		{"duplicate field", body(`{"redirectUri":"https://a.example","redirectUri":"https://b.example"}`), bad, "INVALID_INPUT", "redirectUri"},
		{"number uri", body(`{"redirectUri":1}`), bad, "INVALID_INPUT", "redirectUri"},
		{"null uri", body(`{"redirectUri":null}`), bad, "INVALID_INPUT", "redirectUri"},
		{"bool uri", body(`{"redirectUri":false}`), bad, "INVALID_INPUT", "redirectUri"},
		{"object uri", body(`{"redirectUri":{"a":1}}`), bad, "INVALID_INPUT", "redirectUri"},
		{"array uri", body(`{"redirectUri":["https://a.example"]}`), bad, "INVALID_INPUT", "redirectUri"},
		// The first problem in reading order: the type, before the rest.
		{"malformed array uri", body(`{"redirectUri":[1 "x"]}`), bad, "INVALID_INPUT", "redirectUri"},
		{"invalid UTF-8", body("{\"redirectUri\":\"https://a.example/\xff\"}"), bad, "INVALID_INPUT", "body"},
		{"invalid UTF-8 key", body("{\"\xfe\":1}"), bad, "INVALID_INPUT", "body"},
		{"64 KiB + 1", body(`{"redirectUri":"https://a.example/` + strings.Repeat("a", 64<<10-len(`{"redirectUri":"https://a.example/"}`)+1) + `"}`), bad, "INVALID_INPUT", "body"},
		{"1 MiB", body(strings.Repeat(" ", 1<<20) + "{}"), bad, "INVALID_INPUT", "body"},
		{"form content type", withKey(post(link(custA), `{}`, "Content-Type", "application/x-www-form-urlencoded")), bad, "INVALID_INPUT", "Content-Type"},
		{"text content type", withKey(post(link(custA), `{}`, "Content-Type", "text/plain")), bad, "INVALID_INPUT", "Content-Type"},
		{"xml content type", withKey(post(link(custA), `<a/>`, "Content-Type", "application/xml")), bad, "INVALID_INPUT", "Content-Type"},
		{"broken content type", withKey(post(link(custA), `{}`, "Content-Type", ";;;")), bad, "INVALID_INPUT", "Content-Type"},
		// redirectUri.
		{"javascript:", uri(`"javascript:alert(1)"`), bad, "INVALID_INPUT", "redirectUri"},
		{"JavaScript: mixed case", uri(`"JaVaScRiPt:alert(1)"`), bad, "INVALID_INPUT", "redirectUri"},
		{"data:", uri(`"data:text/html,<script>alert(1)</script>"`), bad, "INVALID_INPUT", "redirectUri"},
		{"ftp:", uri(`"ftp://a.example/x"`), bad, "INVALID_INPUT", "redirectUri"},
		{"file:", uri(`"file:///etc/passwd"`), bad, "INVALID_INPUT", "redirectUri"},
		{"relative", uri(`"/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"scheme-relative", uri(`"//evil.example/x"`), bad, "INVALID_INPUT", "redirectUri"},
		{"no host", uri(`"https:///path"`), bad, "INVALID_INPUT", "redirectUri"},
		{"full-width localhost", uri(`"https://ｌｏｃａｌｈｏｓｔ:8443/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"ideographic dots", uri(`"https://127。0。0。1:8443/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"percent-encoded full-width", uri(`"https://%EF%BD%8Cocalhost:8443/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"opaque https", uri(`"https:a.example"`), bad, "INVALID_INPUT", "redirectUri"},
		{"userinfo", uri(`"https://user:pw@a.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"user only", uri(`"https://a.example@evil.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"http public host", uri(`"http://a.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"http localhost lookalike", uri(`"http://localhost.evil.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"http decimal loopback", uri(`"http://2130706433/"`), bad, "INVALID_INPUT", "redirectUri"},
		// A browser reads these as 127.0.0.1 (found in review: accepted).
		{"https decimal loopback", uri(`"https://2130706433/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"https short-form loopback", uri(`"https://127.1/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"IDN unicode host", uri(`"https://bücher.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"escaped unicode host", uri(`"https://b\u00fccher.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"percent-encoded host", uri(`"https://a%2eexample/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"percent-encoded at", uri(`"https://a.example%40evil.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"2049 chars", uri(`"https://a.example/` + strings.Repeat("a", 2049-len("https://a.example/")) + `"`), bad, "INVALID_INPUT", "redirectUri"},
		{"space", uri(`"https://a.example/a b"`), bad, "INVALID_INPUT", "redirectUri"},
		{"leading space", uri(`" https://a.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"tab", uri(`"https://a.example/\t"`), bad, "INVALID_INPUT", "redirectUri"},
		{"newline", uri(`"https://a.example/\nLocation: x"`), bad, "INVALID_INPUT", "redirectUri"},
		{"NUL", uri(`"https://a.example/\u0000"`), bad, "INVALID_INPUT", "redirectUri"},
		{"empty", uri(`""`), bad, "INVALID_INPUT", "redirectUri"},
		{"bad port", uri(`"https://a.example:99999999/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"label too long", uri(`"https://` + strings.Repeat("a", 64) + `.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"underscore host", uri(`"https://a_b.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"host over 253 chars", uri(`"https://` + strings.Repeat(strings.Repeat("a", 63)+".", 30) + `example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"invalid punycode", uri(`"https://xn--zz.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"punycode of nothing", uri(`"https://xn--.example/"`), bad, "INVALID_INPUT", "redirectUri"},
		{"NAT64 metadata", uri(`"https://[64:ff9b::a9fe:a9fe]/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"NAT64 private", uri(`"https://[64:ff9b::a01:203]/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"local-use NAT64", uri(`"https://[64:ff9b:1::808:808]/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"6to4 private", uri(`"https://[2002:a01:203::1]/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"IPv4-compatible metadata", uri(`"https://[::a9fe:a9fe]/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"SIIT private", uri(`"https://[::ffff:0:a01:203]/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"Teredo", uri(`"https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"IPv6 documentation", uri(`"https://[2001:db8::1]/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"IPv4 documentation", uri(`"https://192.0.2.1/done"`), bad, "INVALID_INPUT", "redirectUri"},
		{"IPv4 reserved", uri(`"https://240.0.0.1/done"`), bad, "INVALID_INPUT", "redirectUri"},
		// Headers.
		{"headers over 32 KiB", withKey(post(link(custA), `{}`, "X-Padding", strings.Repeat("a", 33<<10))), bad, "INVALID_INPUT", "headers"},
		// Auth.
		{"missing auth", auth("<unset>"), unauth, "UNAUTHORIZED", ""},
		{"bearer", auth("Bearer abc"), unauth, "UNAUTHORIZED", ""},
		{"digest", auth("Digest username=x"), unauth, "UNAUTHORIZED", ""},
		{"scheme only", auth("Basic"), unauth, "UNAUTHORIZED", ""},
		{"bad base64", auth("Basic %%%"), unauth, "UNAUTHORIZED", ""},
		{"no colon", auth("Basic " + b64([]byte("tok-a"))), unauth, "UNAUTHORIZED", ""},
		{"empty id", auth(basic("", secretA)), unauth, "UNAUTHORIZED", ""},
		{"empty secret", auth(basic("tok-a", "")), unauth, "UNAUTHORIZED", ""},
		{"empty both", auth(basic("", "")), unauth, "UNAUTHORIZED", ""},
		{"unknown id", auth(basic("tok-x", secretA)), unauth, "UNAUTHORIZED", ""},
		{"wrong secret", auth(basic("tok-a", "wrong")), unauth, "UNAUTHORIZED", ""},
		{"other token's secret", auth(basic("tok-a", "secret-b")), unauth, "UNAUTHORIZED", ""},
		{"secret with suffix", auth(basic("tok-a", secretA+"x")), unauth, "UNAUTHORIZED", ""},
		{"id case changed", auth(basic("TOK-A", secretA)), unauth, "UNAUTHORIZED", ""},
		{"very long header", auth("Basic " + strings.Repeat("QUFB", 5000)), unauth, "UNAUTHORIZED", ""},
		{"non-ASCII credentials", auth("Basic " + b64([]byte("tök:sécret"))), unauth, "UNAUTHORIZED", ""},
		// Path.
		// A path not in canonical form (an empty segment, "." or "..")
		// names no route: 404, never a redirect an API client would
		// follow without its body.
		{"empty id", path("/customers//kyc-link"), 404, "NOT_FOUND", ""},
		{"129-char id", path(link(strings.Repeat("a", 129))), bad, "INVALID_INPUT", "customerId"},
		{"encoded slash", path(link("a%2Fb")), bad, "INVALID_INPUT", "customerId"},
		{"dot dot", path(link("..")), 404, "NOT_FOUND", ""},
		{"encoded dot dot", path(link("%2E%2E")), bad, "INVALID_INPUT", "customerId"},
		{"unicode id", path(link("%C3%A9")), bad, "INVALID_INPUT", "customerId"},
		{"raw unicode id", path(link("é")), bad, "INVALID_INPUT", "customerId"},
		{"bad escape", path(link("a%zz")), bad, "INVALID_INPUT", "customerId"},
		{"encoded NUL", path(link("a%00")), bad, "INVALID_INPUT", "customerId"},
		{"space id", path(link("a%20b")), bad, "INVALID_INPUT", "customerId"},
		{"trailing slash", path(link(custA) + "/"), 404, "NOT_FOUND", ""},
		{"extra segment", path("/customers/a/b/kyc-link"), 404, "NOT_FOUND", ""},
		{"unknown route", path("/customers"), 404, "NOT_FOUND", ""},
		{"root", path("/"), 404, "NOT_FOUND", ""},
		{"case-changed route", path("/Customers/" + custA + "/kyc-link"), 404, "NOT_FOUND", ""},
		{"GET", method("GET", withKey(post(link(custA), ``))), 405, "METHOD_NOT_ALLOWED", ""},
		{"PUT", method("PUT", withKey(post(link(custA), `{}`))), 405, "METHOD_NOT_ALLOWED", ""},
		{"DELETE", method("DELETE", withKey(post(link(custA), ``))), 405, "METHOD_NOT_ALLOWED", ""},
		{"OPTIONS", method("OPTIONS", withKey(post(link(custA), ``))), 405, "METHOD_NOT_ALLOWED", ""},
		// Idempotency-Key.
		{"empty key", key(""), bad, "INVALID_INPUT", "Idempotency-Key"},
		{"blank key", key("  \t "), bad, "INVALID_INPUT", "Idempotency-Key"},
		{"256-char key", key(strings.Repeat("k", 256)), bad, "INVALID_INPUT", "Idempotency-Key"},
		{"control char key", key("a\x01b"), bad, "INVALID_INPUT", "Idempotency-Key"},
		{"DEL in key", key("a\x7fb"), bad, "INVALID_INPUT", "Idempotency-Key"},
		{"tab in key", key("a\tb"), bad, "INVALID_INPUT", "Idempotency-Key"},
		{"non-ASCII key", key("clé"), bad, "INVALID_INPUT", "Idempotency-Key"},
		{"emoji key", key("key-🔑"), bad, "INVALID_INPUT", "Idempotency-Key"},
	}
}

// TestBadInput: every case answers its 4xx in the Grid shape (checked
// against the contract by env.do), nothing reaches the provider or the
// idempotency table, and no secret or personal data reaches the logs.
func TestBadInput(t *testing.T) {
	store := &countingStore{Store: memstore.NewIdempotency()}
	e := newEnv(t, store)
	cases := badCases()
	if len(cases) < 60 {
		t.Fatalf("only %d bad-input cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(tc.r)
			ge := checkError(t, w, tc.status, tc.code)
			if tc.status == 400 {
				if f, _ := ge.Details["field"].(string); f != tc.field {
					t.Errorf("details.field = %q; want %q (%s)", f, tc.field, ge.Message)
				}
			}
			switch tc.status {
			case 401:
				if w.Header().Get("WWW-Authenticate") != `Basic realm="Grid"` {
					t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
				}
			case 405:
				if w.Header().Get("Allow") != "POST" {
					t.Errorf("Allow = %q", w.Header().Get("Allow"))
				}
			}
		})
	}
	if n := e.provider.calls.Load(); n != 0 {
		t.Errorf("provider called %d times for bad input", n)
	}
	if n := store.calls.Load(); n != 0 {
		t.Errorf("idempotency store called %d times for bad input", n)
	}
	// A good request in the same run, so its data is in the logs too.
	if w := e.do(post(link(custA), `{"redirectUri":"https://a.example/x"}`)); w.Code != 201 {
		t.Fatalf("good request = %d", w.Code)
	}
	for _, secret := range []string{secretA, "secret-b", "wrong", "ada@example.com", "+14155550100", "_act-sbx-jwt-token", "QUFBQUFB"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

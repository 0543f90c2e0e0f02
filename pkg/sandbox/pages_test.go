package sandbox_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

func decide(p *sandbox.Provider, link, decision string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", strings.TrimPrefix(link, "http://local.test"), strings.NewReader(url.Values{"decision": {decision}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	routed(p, nil).ServeHTTP(w, r)
	return w
}

var refresh = regexp.MustCompile(`<meta http-equiv="refresh" content="2;url=([^"]*)">`)

// TestAfterADecisionThePageSaysWhereItGoes: a real redirectUri is followed
// (named, linked, after 2 s); none, or a placeholder like the seed's demo
// one, keeps the user on the page, pointed to the inbox.
func TestAfterADecisionThePageSaysWhereItGoes(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var decided []string
	p := &sandbox.Provider{BaseURL: "http://local.test", Now: func() time.Time { return now },
		Decide: func(_ context.Context, id, d string) error { decided = append(decided, id+" "+d); return nil }}
	for _, tc := range []struct {
		redirect string
		follow   string // the URL the page continues to, "" for none
		host     string
		line     string
	}{
		{"", "", "", "The link has no redirectUri"},
		{"https://app.example.com/onboarding/done", "", "", `<p id="placeholder"`},
		{"https://shop.EXAMPLE.org./done", "", "", `<p id="placeholder"`},
		{"https://my.app.invalid/x", "", "", `<p id="placeholder"`},
		{"https://myapp.dev/done?step=2&ok=1", "https://myapp.dev/done?step=2&amp;ok=1", "myapp.dev", `<p id="continue">Continuing to <a href="https://myapp.dev/done?step=2&amp;ok=1">myapp.dev</a>`},
		{"http://localhost:8080/done", "http://localhost:8080/done", "localhost:8080", `Continuing to <a href="http://localhost:8080/done">localhost:8080</a>`},
		{"https://example.com.evil.dev/done", "https://example.com.evil.dev/done", "example.com.evil.dev", "Continuing to"},
	} {
		t.Run(tc.redirect, func(t *testing.T) {
			link, _, _ := p.CreateLink(context.Background(), kyc.LinkRequest{CustomerID: "Customer:1", RedirectURI: tc.redirect, TTL: time.Minute})
			w := decide(p, link, sandbox.Approve)
			body := w.Body.String()
			if w.Code != 200 || !strings.Contains(body, `<p id="decided">Decision sent: approve. See <a href="/sandbox/inbox/">the platform inbox</a>`) {
				t.Fatalf("decision page = %d\n%s", w.Code, body)
			}
			if !strings.Contains(body, tc.line) {
				t.Errorf("page lacks %q:\n%s", tc.line, body)
			}
			m := refresh.FindStringSubmatch(body)
			switch {
			case tc.follow == "" && m != nil:
				t.Errorf("the page sends the user to %s", m[1])
			case tc.follow != "" && (m == nil || m[1] != tc.follow):
				t.Errorf("refresh = %v; want to %s", m, tc.follow)
			}
		})
	}
	if len(decided) != 7 {
		t.Fatalf("decisions played: %v", decided)
	}
	// Completing without a decision (no Decide wired) follows the same rule.
	plain := &sandbox.Provider{BaseURL: "http://local.test", Now: func() time.Time { return now }}
	link, _, _ := plain.CreateLink(context.Background(), kyc.LinkRequest{CustomerID: "Customer:1", RedirectURI: "https://myapp.dev/done", TTL: time.Minute})
	if w := visit(plain, "POST", link); w.Code != 200 || !refresh.MatchString(w.Body.String()) || strings.Contains(w.Body.String(), "Decision sent") {
		t.Fatalf("complete without a decision = %d\n%s", w.Code, w.Body)
	}
}

func TestPlaceholder(t *testing.T) {
	for host, want := range map[string]bool{
		"app.example.com": true, "example.com": true, "EXAMPLE.NET": true, "a.b.example.org": true, "x.example": true,
		"site.invalid": true, "example.com.": true,
		"myexample.com": false, "example.com.evil.dev": false, "localhost": false, "127.0.0.1": false, "app.test": false, "example.co": false,
	} {
		if got := sandbox.Placeholder(host); got != want {
			t.Errorf("Placeholder(%q) = %v; want %v", host, got, want)
		}
	}
}

// TestEveryPageFitsAPhone: every sandbox page has the viewport tag and the
// icon (the browser test checks the layout itself in Chromium).
func TestEveryPageFitsAPhone(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := &sandbox.Provider{BaseURL: "http://local.test", Now: func() time.Time { return now },
		Decide: func(context.Context, string, string) error { return nil }}
	link, _, _ := p.CreateLink(context.Background(), kyc.LinkRequest{CustomerID: "Customer:1", TTL: time.Minute})
	in, base := newInbox(t, signingKey(t))
	in.Track(func(context.Context, string, string) error { return nil })(context.Background(), held, sandbox.Hold)
	_, inbox := get(t, base+sandbox.InboxPrefix)
	_, empty := get(t, httptest.NewServer(routed(nil, &sandbox.Inbox{})).URL+sandbox.InboxPrefix)
	pages := map[string]string{
		"link":    visit(p, "GET", link).Body.String(),
		"done":    decide(p, link, sandbox.Reject).Body.String(),
		"spent":   visit(p, "GET", link).Body.String(),
		"unknown": visit(p, "GET", "http://local.test"+sandbox.PathPrefix+"nope").Body.String(),
		"inbox":   inbox,
		"empty":   empty,
	}
	for name, page := range pages {
		if !strings.Contains(page, `<meta name="viewport" content="width=device-width, initial-scale=1">`) || !strings.Contains(page, `<link rel="icon" href="/favicon.ico">`) {
			t.Errorf("%s page lacks the viewport tag or the icon:\n%s", name, page)
		}
	}
}

func TestFavicon(t *testing.T) {
	p := &sandbox.Provider{BaseURL: "http://local.test", Now: time.Now}
	w := httptest.NewRecorder()
	routed(p, nil).ServeHTTP(w, httptest.NewRequest("GET", sandbox.FaviconPath, nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/x-icon" {
		t.Fatalf("favicon = %d %v", w.Code, w.Header())
	}
	ico := w.Body.Bytes()
	var dir struct {
		Reserved, Type, Count uint16
		W, H, Colors, Res     uint8
		Planes, BPP           uint16
		Size, Offset          uint32
	}
	if err := binary.Read(bytes.NewReader(ico), binary.LittleEndian, &dir); err != nil || dir.Type != 1 || dir.Count != 1 || int(dir.Offset+dir.Size) != len(ico) {
		t.Fatalf("not an ICO file: %+v %v", dir, err)
	}
	img, err := png.Decode(bytes.NewReader(ico[dir.Offset:]))
	if err != nil || img.Bounds().Dx() != int(dir.W) || img.Bounds().Dy() != int(dir.H) {
		t.Fatalf("the icon's image: %v %v", img, err)
	}
	w = httptest.NewRecorder()
	routed(p, nil).ServeHTTP(w, httptest.NewRequest("POST", sandbox.FaviconPath, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST favicon = %d", w.Code)
	}
}

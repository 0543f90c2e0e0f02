package sumsub_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

var creds = sumsub.Credentials{AppToken: "sbx:app-token", SecretKey: "secret-key"}

type staticCreds sumsub.Credentials

func (c staticCreds) Get(context.Context) (sumsub.Credentials, error) {
	return sumsub.Credentials(c), nil
}

func provider(srv *sumsubtest.Server, c sumsub.Credentials, now func() time.Time) *sumsub.Provider {
	return &sumsub.Provider{
		Client:      &sumsub.Client{BaseURL: srv.URL, HTTP: srv.Client(), Now: now},
		Credentials: staticCreds(c),
		Levels:      map[kyc.CustomerType]string{kyc.Individual: "kyc-level", kyc.Business: "kyb-level"},
	}
}

func TestSignVector(t *testing.T) {
	// Computed independently:
	// printf '%s' '1700000000POST/resources/accessTokens/sdk?x=1{}' | openssl dgst -sha256 -hmac secret-key
	const want = "f79306ca8ef883464044c62975fbaa9c2acae023be4f5c7b8b48b9d3f7e03a10"
	if got := sumsub.Sign("secret-key", "1700000000", "post", "/resources/accessTokens/sdk?x=1", []byte("{}")); got != want {
		t.Fatalf("Sign = %s; want %s", got, want)
	}
}

func TestCreateLinkSendsSignedRequestsBothCalls(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	p := provider(srv, creds, time.Now)
	url, token, err := p.CreateLink(context.Background(), kyc.LinkRequest{
		CustomerID: "Customer:1", Type: kyc.Business, Email: "a@example.com", PhoneNumber: "+14155550100",
		RedirectURI: "https://app.example.com/done", TTL: 30 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, srv.URL+"/websdk/p/") {
		t.Errorf("url = %q; want a hosted link under %s/websdk/p/", url, srv.URL)
	}
	if !strings.HasPrefix(token, "_act-sbx-jwt-") {
		t.Errorf("token = %q; want a sandbox SDK token", token)
	}
	if got := srv.Rejected(); got != 0 {
		t.Errorf("Sumsub rejected %d requests; want 0", got)
	}
	common := map[string]any{
		"levelName": "kyb-level", "userId": "Customer:1", "ttlInSecs": json.Number("1800"),
		"applicantIdentifiers": map[string]any{"email": "a@example.com", "phone": "+14155550100"},
	}
	withRedirect := maps.Clone(common)
	withRedirect["redirect"] = map[string]any{"successUrl": "https://app.example.com/done", "rejectUrl": "https://app.example.com/done"}
	want := map[string]map[string]any{sumsubtest.LinkPath: withRedirect, sumsubtest.TokenPath: common}
	got := map[string]map[string]any{}
	for _, r := range srv.Accepted() {
		if _, dup := got[r.Path]; dup {
			t.Errorf("%s called more than once", r.Path)
		}
		got[r.Path] = r.Body
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request bodies by path (-want +got):\n%s", diff)
	}
}

func TestCreateLinkIndividualWithoutContactOrRedirect(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	_, _, err := provider(srv, creds, time.Now).CreateLink(context.Background(), kyc.LinkRequest{CustomerID: "c", Type: "SOMETHING-NEW", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Accepted() {
		if r.Body["levelName"] != "kyc-level" {
			t.Errorf("unknown type must fall back to the individual level; got %v", r.Body["levelName"])
		}
		if _, ok := r.Body["applicantIdentifiers"]; ok {
			t.Errorf("empty identifiers must be left out: %v", r.Body)
		}
		if _, ok := r.Body["redirect"]; ok {
			t.Errorf("no redirect URI must mean no redirect: %v", r.Body)
		}
	}
}

// The fake rejects exactly what Sumsub rejects, so these prove the signing.
func TestFakeRejectsBadSignatureTokenAndClock(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	for name, tc := range map[string]struct {
		creds sumsub.Credentials
		now   func() time.Time
	}{
		"wrong secret key": {sumsub.Credentials{AppToken: creds.AppToken, SecretKey: "other"}, time.Now},
		"wrong app token":  {sumsub.Credentials{AppToken: "sbx:other", SecretKey: creds.SecretKey}, time.Now},
		"clock skew":       {creds, func() time.Time { return time.Now().Add(-5 * time.Minute) }},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := provider(srv, tc.creds, tc.now).CreateLink(context.Background(), kyc.LinkRequest{CustomerID: "c", TTL: time.Hour})
			var apiErr *sumsub.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v; want a Sumsub API error", err)
			}
			if got, want := [2]int{apiErr.Status, apiErr.ErrorCode}, [2]int{401, 4003}; got != want {
				t.Errorf("status, errorCode = %v; want %v", got, want)
			}
			// Sumsub refusing our credentials is our misconfiguration: 500.
			if got := kyc.AsError(err).Code; got != kyc.CodeInternal {
				t.Errorf("code = %s; want %s", got, kyc.CodeInternal)
			}
		})
	}
	if got := len(srv.Accepted()); got != 0 {
		t.Fatalf("the fake accepted %d badly signed requests; want 0", got)
	}
}

func TestProviderFailuresAreUnavailable(t *testing.T) {
	for name, fail := range map[string]func(w http.ResponseWriter, r *http.Request) bool{
		"500 on link":    func(w http.ResponseWriter, r *http.Request) bool { return failOn(w, r, sumsubtest.LinkPath, 500) },
		"429 on token":   func(w http.ResponseWriter, r *http.Request) bool { return failOn(w, r, sumsubtest.TokenPath, 429) },
		"malformed JSON": func(w http.ResponseWriter, r *http.Request) bool { w.Write([]byte("{")); return true },
		"200 without url or token": func(w http.ResponseWriter, r *http.Request) bool {
			w.Write([]byte(`{}`))
			return true
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := sumsubtest.NewServer(creds)
			defer srv.Close()
			srv.SetFail(fail)
			url, token, err := provider(srv, creds, time.Now).CreateLink(context.Background(), kyc.LinkRequest{CustomerID: "c", TTL: time.Hour})
			if url != "" || token != "" {
				t.Errorf("url, token = %q, %q; want neither on failure", url, token)
			}
			if e := kyc.AsError(err); e.Code != kyc.CodeUnavailable || e.RetryAfter <= 0 {
				t.Errorf("err = %v (retry after %s); want %s with a retry hint", err, e.RetryAfter, kyc.CodeUnavailable)
			}
		})
	}
}

func failOn(w http.ResponseWriter, r *http.Request, path string, status int) bool {
	if r.URL.Path != path {
		return false
	}
	sumsubtest.WriteError(w, status, 0, "injected")
	return true
}

func TestProviderHonoursDeadline(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	srv.SetDelay(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := provider(srv, creds, time.Now).CreateLink(ctx, kyc.LinkRequest{CustomerID: "c", TTL: time.Hour})
	if kyc.AsError(err).Code != kyc.CodeUnavailable {
		t.Fatalf("slow provider = %v; want SERVICE_UNAVAILABLE", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the call outlived its deadline by far")
	}
}

func TestParseCredentials(t *testing.T) {
	c, err := sumsub.ParseCredentials(`{"appToken":"a","secretKey":"s"}`)
	if want := (sumsub.Credentials{AppToken: "a", SecretKey: "s"}); err != nil || c != want {
		t.Fatalf("ParseCredentials = %+v, %v; want %+v", c, err, want)
	}
	for _, s := range []string{``, `{"appToken":"a"}`, `[]`, `{"appToken":"a","secretKey":1}`} {
		t.Run(s, func(t *testing.T) {
			if _, err := sumsub.ParseCredentials(s); err == nil {
				t.Errorf("ParseCredentials(%q) accepted", s)
			}
		})
	}
}

func TestRetriesOnceOnOutage(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	var failures atomic.Int32
	srv.SetFail(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == sumsubtest.LinkPath && failures.Add(1) == 1 {
			sumsubtest.WriteError(w, 502, 0, "injected")
			return true
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url, _, err := provider(srv, creds, time.Now).CreateLink(ctx, kyc.LinkRequest{CustomerID: "c", TTL: time.Hour})
	if err != nil || url == "" || srv.Count(sumsubtest.LinkPath) != 2 {
		t.Fatalf("after one 502 = %q, %v with %d link calls; want success on the second", url, err, srv.Count(sumsubtest.LinkPath))
	}
}

func TestRetryLimits(t *testing.T) {
	for name, tc := range map[string]struct {
		status    int
		timeout   time.Duration
		wantCalls int
	}{
		"persistent 503 is tried twice":          {503, 5 * time.Second, 2},
		"429 is tried twice":                     {429, 5 * time.Second, 2},
		"401 is not retried":                     {401, 5 * time.Second, 1},
		"no retry when the deadline has no room": {503, 800 * time.Millisecond, 1},
	} {
		t.Run(name, func(t *testing.T) {
			srv := sumsubtest.NewServer(creds)
			defer srv.Close()
			srv.SetFail(func(w http.ResponseWriter, r *http.Request) bool { return failOn(w, r, sumsubtest.LinkPath, tc.status) })
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			_, _, err := provider(srv, creds, time.Now).CreateLink(ctx, kyc.LinkRequest{CustomerID: "c", TTL: time.Hour})
			if err == nil {
				t.Error("CreateLink succeeded; want an error")
			}
			if got := srv.Count(sumsubtest.LinkPath); got != tc.wantCalls {
				t.Errorf("link calls = %d; want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	url := srv.URL
	srv.Close()
	p := &sumsub.Provider{Client: &sumsub.Client{BaseURL: url, HTTP: http.DefaultClient, Now: time.Now},
		Credentials: staticCreds(creds), Levels: map[kyc.CustomerType]string{kyc.Individual: "l"}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := p.CreateLink(ctx, kyc.LinkRequest{CustomerID: "c", TTL: time.Hour})
	if e := kyc.AsError(err); e.Code != kyc.CodeUnavailable || e.RetryAfter == 0 {
		t.Fatalf("connection refused = %v; want SERVICE_UNAVAILABLE with Retry-After", err)
	}
}

// TestClassifySumsubRefusals: which Sumsub 4xx is the caller's fault (a
// refused redirect: 400 naming redirectUri) and which is ours (500).
func TestClassifySumsubRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		redirect string
		want     kyc.Code
		field    string
	}{
		{"400 with a redirect", 400, "https://app.example.com/done", kyc.CodeInvalid, "redirectUri"},
		{"422 with a redirect", 422, "https://app.example.com/done", kyc.CodeInvalid, "redirectUri"},
		{"400 without a redirect", 400, "", kyc.CodeInternal, ""},
		{"401 (our credentials)", 401, "https://app.example.com/done", kyc.CodeInternal, ""},
		{"403", 403, "https://app.example.com/done", kyc.CodeInternal, ""},
		{"404 (our level)", 404, "https://app.example.com/done", kyc.CodeInternal, ""},
		{"409", 409, "", kyc.CodeInternal, ""},
		{"429", 429, "https://app.example.com/done", kyc.CodeUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sumsubtest.NewServer(creds)
			defer srv.Close()
			srv.SetFail(func(w http.ResponseWriter, r *http.Request) bool { return failOn(w, r, sumsubtest.LinkPath, tc.status) })
			ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond) // no retry
			defer cancel()
			_, _, err := provider(srv, creds, time.Now).CreateLink(ctx, kyc.LinkRequest{CustomerID: "c", TTL: time.Hour, RedirectURI: tc.redirect})
			e := kyc.AsError(err)
			if e.Code != tc.want {
				t.Fatalf("code = %s (%v); want %s", e.Code, err, tc.want)
			}
			if field, _ := e.Details["field"].(string); field != tc.field {
				t.Fatalf("field = %q; want %q", field, tc.field)
			}
			var apiErr *sumsub.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("the cause (for the log) is lost: %v", err)
			}
		})
	}
}

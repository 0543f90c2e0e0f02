package sandbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

func visit(p *sandbox.Provider, method, link string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	routed(p, nil).ServeHTTP(w, httptest.NewRequest(method, strings.TrimPrefix(link, "http://local.test"), nil))
	return w
}

func TestSandboxLinks(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := &sandbox.Provider{BaseURL: "http://local.test/", Now: func() time.Time { return now }}
	link, token, err := p.CreateLink(context.Background(), kyc.LinkRequest{CustomerID: "Customer:1", Type: kyc.Individual, TTL: time.Minute})
	if err != nil || !strings.HasPrefix(link, "http://local.test"+sandbox.PathPrefix) || !strings.HasPrefix(token, "_act-sandbox-") {
		t.Fatalf("CreateLink = %q, %q, %v", link, token, err)
	}
	if w := visit(p, "GET", link); w.Code != 200 || !strings.Contains(w.Body.String(), "SANDBOX") || !strings.Contains(w.Body.String(), "Customer:1") {
		t.Fatalf("page = %d %s", w.Code, w.Body)
	}
	// Without a redirect URI, completing shows a done page; the link is then spent.
	if w := visit(p, "POST", link); w.Code != 200 || !strings.Contains(w.Body.String(), "Verification complete") {
		t.Fatalf("complete = %d %s", w.Code, w.Body)
	}
	if w := visit(p, "GET", link); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "already been used") {
		t.Fatalf("spent link = %d %s", w.Code, w.Body)
	}
	other, _, _ := p.CreateLink(context.Background(), kyc.LinkRequest{CustomerID: "Customer:2", TTL: time.Minute})
	now = now.Add(2 * time.Minute)
	if w := visit(p, "GET", other); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "expired") {
		t.Fatalf("expired link = %d %s", w.Code, w.Body)
	}
	if w := visit(p, "GET", "http://local.test"+sandbox.PathPrefix+"nope"); w.Code != http.StatusNotFound {
		t.Fatalf("unknown link = %d", w.Code)
	}
	// HTML escaping: a hostile customer id cannot inject markup.
	evil, _, _ := p.CreateLink(context.Background(), kyc.LinkRequest{CustomerID: "<script>x</script>", TTL: time.Minute})
	if w := visit(p, "GET", evil); strings.Contains(w.Body.String(), "<script>x") {
		t.Fatal("customer id rendered unescaped")
	}
}

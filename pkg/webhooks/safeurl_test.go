package webhooks

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// platformURLs is a Platforms with one URL per platform.
type platformURLs map[string]string

func (p platformURLs) WebhookURL(_ context.Context, id string) (string, error) { return p[id], nil }

// TestFailedDeliveriesCarryNoURLSecrets: what a failed delivery or test
// webhook reports (logged, traced, dead-lettered) names the platform's
// URL by scheme and host only; a secret in its user info, path, query or
// fragment never appears (issue 27: `test_webhook_error` logged
// https://vm:1/hook?token=S3CRET whole).
func TestFailedDeliveriesCarryNoURLSecrets(t *testing.T) {
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	host := closed.Addr().String()
	closed.Close() // connection refused from now on
	raw := "http://" + host + "/S3CRET-PATH?token=S3CRET-QUERY#S3CRET-FRAGMENT"
	key := staticKey{testKey(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	check := func(what, got string) {
		t.Helper()
		if strings.Contains(got, "S3CRET") {
			t.Errorf("%s carries a secret of the URL: %s", what, got)
		}
		if !strings.Contains(got, "http://"+host) {
			t.Errorf("%s does not name the endpoint's scheme and host: %s", what, got)
		}
	}

	d := &Deliverer{Platforms: platformURLs{"p1": raw}, Key: key, Client: NewClient(5*time.Second, true), AllowLoopback: true}
	out, err := d.Deliver(ctx, kyc.Notice{ID: "Webhook:1", PlatformID: "p1", Body: []byte(`{}`)})
	if out != Failed || err == nil {
		t.Fatalf("Deliver = %s, %v; want a failure", out, err)
	}
	check("a failed delivery's error", err.Error())

	_, err = (&TestSender{Key: key, Client: NewClient(5*time.Second, true), Now: time.Now}).SendTestWebhook(ctx, "p1", raw)
	if err == nil {
		t.Fatal("SendTestWebhook to a closed port succeeded")
	}
	check("a failed test webhook's error", err.Error())

	for in, want := range map[string]string{
		"https://user:S3CRET-PASSWORD@hooks.example.com:8443/S3CRET?token=S3CRET#S3CRET": "https://hooks.example.com:8443",
		"https://hooks.example.com":   "https://hooks.example.com",
		"not a url at all":            "[not a URL]",
		"https://[::1]:9/S3CRET":      "https://[::1]:9",
		"https://h.example/%zzS3CRET": "[not a URL]",
	} {
		if got := SafeURL(in); got != want {
			t.Errorf("SafeURL(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestCheckURLRefusesNonASCIIHosts: hosts Go's client would map to ASCII
// (IDNA) on dialling, full-width letters and ideographic dots among them,
// are refused before any rule judges them (issue 27: PATCH /config took
// https://ｌｏｃａｌｈｏｓｔ:P/ and make run dialled its loopback listener).
func TestCheckURLRefusesNonASCIIHosts(t *testing.T) {
	for _, raw := range []string{
		"https://ｌｏｃａｌｈｏｓｔ:8443/", "https://127。0。0。1:8443/", "https://%EF%BD%8Cocalhost/",
		"https://bücher.example/hook", "https://hooks.example\u3002com/",
	} {
		for _, loopback := range []bool{false, true} {
			if _, err := CheckURL(raw, loopback); err == nil || !strings.Contains(err.Error(), "ASCII") {
				t.Errorf("CheckURL(%q, loopback %v) = %v; want refused as not ASCII", raw, loopback, err)
			}
			if err := CheckEndpoint(raw, loopback); err == nil {
				t.Errorf("CheckEndpoint(%q, loopback %v) accepted it", raw, loopback)
			}
		}
	}
	if _, err := CheckURL("https://xn--bcher-kva.example/hook", false); err != nil {
		t.Errorf("an internationalised name in its xn-- form: %v", err)
	}
}

package webhooks_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/publicaddr"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// TestDeliveryAndConfigShareOneRule: delivery (CheckURL) and PATCH /config
// (CheckEndpoint) give the same verdict on every URL, publicaddr's, in the
// words PATCH /config has always answered ("" is accepted); delivery's
// error is the same text under "webhooks: ". The rows marked "was" are
// where the copies of the rule disagreed and the stricter answer won.
func TestDeliveryAndConfigShareOneRule(t *testing.T) {
	type row struct {
		url      string
		loopback bool
	}
	const (
		invalid   = "invalid webhook URL"
		https     = "the webhook URL must use https"
		httpLocal = "http is allowed only to loopback"
		public    = "the host is not a public address"
		ascii     = "the webhook URL's host must be ASCII (write an internationalised name in its xn-- form)"
	)
	want := map[row]string{
		{"https://api.example.com/webhooks", false}:   "",
		{"https://xn--bcher-kva.example/hook", false}: "",
		{"http://127.0.0.1:8080/hook", true}:          "",
		{"http://localhost/x", true}:                  "",
		{"https://localhost:8443/hook", true}:         "",
		{"not a url", false}:                          invalid,
		{"https:///nohost", false}:                    invalid,
		{"https://user:pw@api.example.com/", false}:   invalid,
		{"https://ｌｏｃａｌｈｏｓｔ:8443/", true}:             ascii,
		{"https://%EF%BD%8Cocalhost/", false}:         ascii,
		{"ftp://api.example.com/", false}:             https,
		{"ftp://localhost/", true}:                    https,
		{"http://api.example.com/webhooks", false}:    https,
		{"http://127.0.0.1:8080/x", false}:            https,
		{"http://10.0.0.1/x", true}:                   httpLocal,
		// Was accepted by delivery, this row and the "public" ones below:
		// its copy left hosts to the dialer; /config refused them.
		{"https://localhost/hook", false}:            public,
		{"https://[::1]/hook", false}:                public,
		{"https://169.254.169.254/latest", false}:    public,
		{"https://10.0.0.1/hook", true}:              public,
		{"https://10.0.0.1/hook", false}:             public,
		{"https://[64:ff9b::a9fe:a9fe]/hook", false}: public,
		// Was accepted by delivery and /config (any printable ASCII host,
		// any digits as port); the link's redirectUri refused them.
		{"https://a_b.example/hook", false}:   "the webhook URL's host is not a valid host name",
		{"https://api.example.com:0/", false}: "the webhook URL's port is not valid",
		// Was accepted by delivery and /config in local mode (their copy
		// took the zone).
		{"http://[::1%25lo]:8080/", true}: "the webhook URL's host is not a valid host name",
		// Was accepted by delivery in local mode, where /config refused it:
		// the loopback exception is "localhost" exactly.
		{"https://LOCALHOST/hook", true}: public,
	}
	got := map[row]string{}
	for r := range want {
		err := webhooks.CheckEndpoint(r.url, r.loopback)
		_, derr := webhooks.CheckURL(r.url, r.loopback)
		if err == nil {
			got[r] = ""
			if derr != nil {
				t.Errorf("CheckURL(%q, %v) = %v; /config accepts it", r.url, r.loopback, derr)
			}
			continue
		}
		got[r] = err.Error()
		if derr == nil || derr.Error() != "webhooks: "+err.Error() {
			t.Errorf("CheckURL(%q, %v) = %v; want %q", r.url, r.loopback, derr, "webhooks: "+err.Error())
		}
		var e *publicaddr.URLError
		if !errors.As(err, &e) || !errors.As(derr, &e) {
			t.Errorf("CheckEndpoint(%q, %v) = %v, CheckURL = %v; want both to wrap publicaddr's reason", r.url, r.loopback, err, derr)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CheckEndpoint (-want +got):\n%s", diff)
	}
}

package httpapi

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// TestRedirectMessages: redirectUri is judged by publicaddr's URL rule, and
// every refusal keeps the 400 text it had when the rule was written here;
// "" is accepted. The rows marked "was" are where the copies of the rule
// disagreed and the stricter answer won.
func TestRedirectMessages(t *testing.T) {
	type row struct {
		uri   string
		local bool // the sandbox provider
	}
	const (
		https      = "redirectUri must use https."
		httpsLocal = "redirectUri must use https (http is allowed only for localhost)."
		absolute   = "redirectUri must be an absolute URL such as https://app.example.com/done."
	)
	want := map[row]string{
		{"https://app.example.com/done", false}:                   "",
		{"https://XN--BCHER-KVA.example./done", false}:            "",
		{"https://a.example/" + strings.Repeat("a", 2030), false}: "",
		{"https://a.example/" + strings.Repeat("a", 2031), false}: "redirectUri is longer than 2048 characters.",
		{"https://a.example/a b", false}:                          "redirectUri may contain only printable ASCII without spaces; percent-encode anything else.",
		{"https://bücher.example/", false}:                        "redirectUri may contain only printable ASCII without spaces; percent-encode anything else.",
		{"https:a.example", false}:                                absolute,
		{"/done", false}:                                          absolute,
		{"https:///path", false}:                                  absolute,
		{"https://user:pw@a.example/", false}:                     "redirectUri must not contain a user name or password.",
		{"https://a_b.example/", false}:                           `redirectUri has an invalid host "a_b.example".`,
		{"https://%EF%BD%8Cocalhost:8443/done", false}:            `redirectUri has an invalid host "ｌocalhost".`,
		{"https://[::1%25lo]/", true}:                             `redirectUri has an invalid host "::1%lo".`,
		{"https://a.example:99999999/", false}:                    `redirectUri has an invalid port "99999999".`,
		{"https://a.example:0/", true}:                            `redirectUri has an invalid port "0".`,
		{"http://a.example/", false}:                              https,
		{"//a.example/", false}:                                   https,
		{"http://localhost:8080/done", false}:                     https,
		{"http://a.example/", true}:                               httpsLocal,
		{"ftp://localhost/", true}:                                httpsLocal,
		{"http://localhost.evil.example/", true}:                  httpsLocal,
		{"https://localhost/done", false}:                         `redirectUri must point to a public host, not "localhost".`,
		{"https://10.0.0.1/done", true}:                           `redirectUri must point to a public host, not "10.0.0.1".`,
		{"https://app.localhost/done", true}:                      `redirectUri must point to a public host, not "app.localhost".`,
		{"http://localhost:8080/done", true}:                      "",
		{"https://127.0.0.2/done", true}:                          "",
		{"http://[::1]:3000/done", true}:                          "",
		{"http://[::ffff:127.0.0.1]/done", true}:                  "",
		// Was accepted: this copy compared localhost case-insensitively,
		// the webhook copies exactly; the exception is now exact.
		{"http://LOCALHOST:8080/done", true}: httpsLocal,
		{"https://LOCALHOST/done", true}:     `redirectUri must point to a public host, not "LOCALHOST".`,
	}
	got := map[row]string{}
	for r := range want {
		got[r] = ""
		if err := validRedirect(r.uri, r.local); err != nil {
			e := kyc.AsError(err)
			got[r] = e.Message
			if e.Code != kyc.CodeInvalid || e.Details["field"] != "redirectUri" {
				t.Errorf("validRedirect(%q, %v) = %v; want INVALID_INPUT for redirectUri", r.uri, r.local, err)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validRedirect (-want +got):\n%s", diff)
	}
}

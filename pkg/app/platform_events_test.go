package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
)

// TestPlatformEventFixtures sends every events/platform-api/*.json through
// the platform function's Lambda entry, on the embedded data, each to a
// fresh function, and checks the status (expected-status.tsv) and the
// answer against the contract's operation.
func TestPlatformEventFixtures(t *testing.T) {
	for f, status := range fixtures(t, "../../events/platform-api", 15) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				Resource, HTTPMethod, RouteKey string
			}
			json.Unmarshal(payload, &ev)
			method, tmpl := ev.HTTPMethod, ev.Resource
			if ev.RouteKey != "" {
				method, tmpl, _ = strings.Cut(ev.RouteKey, " ")
			}
			tmpl = strings.TrimPrefix(tmpl, httpapi.GridBasePath)
			check := func(code int, h http.Header, body []byte) error {
				if code == http.StatusMethodNotAllowed {
					// No such operation in the contract: the router's
					// answer, with the methods the path has.
					if h.Get("Allow") != "GET, HEAD, POST" || !strings.Contains(string(body), `"code":"METHOD_NOT_ALLOWED"`) {
						return fmt.Errorf("405 %v %s", h, body)
					}
					return nil
				}
				return contract.CheckOperation(method, tmpl, code, h, body)
			}
			resp := invokeChecked(t, lambdaEntry(t, nil, app.PlatformFunction).Lambda().Invoke, payload, check)
			if resp.StatusCode != status {
				t.Fatalf("status %d; want %d; body %s", resp.StatusCode, status, resp.Body)
			}
			if strings.Contains(resp.Body, "123-45-6789") || strings.Contains(resp.Body, "47-1234567") {
				t.Fatalf("the answer carries an identifier or tax id: %s", resp.Body)
			}
		})
	}
}

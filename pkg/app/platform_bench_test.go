//go:build integration

package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/faultproxy"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
)

// platformBenchEnv is the platform function as deployed, on moto, with
// every AWS call (DynamoDB, KMS, Secrets Manager) through a fault proxy,
// and a platform webhook endpoint on loopback (WEBHOOK_ALLOW_LOOPBACK)
// that can be held as long as the proxy holds AWS calls.
type platformBenchEnv struct {
	h     http.Handler
	proxy *faultproxy.Proxy
	// hook is the webhook endpoint's base URL; hookDelay (nanoseconds)
	// holds each webhook it receives.
	hook      string
	hookDelay atomic.Int64
	hooks     atomic.Int64 // webhooks received
}

func newPlatformBenchEnv(tb testing.TB) *platformBenchEnv {
	tb.Helper()
	moto := moto.Need(tb)
	e := &platformBenchEnv{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if d := time.Duration(e.hookDelay.Load()); d > 0 {
			time.Sleep(d)
		}
		e.hooks.Add(1)
		io.WriteString(w, "ok")
	}))
	tb.Cleanup(hook.Close)
	e.hook = hook.URL
	signing, _ := newSigningKey(tb)
	st := motostack.New(tb, moto, motostack.Options{
		Only: []string{"CustomersTable", "IdempotencyTable", "PlatformsTable", "CustomerDataKey",
			"DocumentsTable", "VerificationsTable", "DocumentsBucket", "DocumentsKey", "WebhookOutboxTable",
			"ApiTokensSecretArn", "CursorKeySecret", "IdempotencyKeySecret", "WebhookSigningKeySecretArn"},
		Secrets: map[string]string{
			"ApiTokensSecretArn":         `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"` + auth.DigestHex("s") + `"}]}`,
			"WebhookSigningKeySecretArn": signing,
		},
	})
	env := map[string]string{"KYC_BACKEND": "aws", "WEBHOOK_ALLOW_LOOPBACK": "true"}
	maps.Copy(env, st.Env)
	e.proxy = faultproxy.New(tb, moto.URL)
	env["AWS_ENDPOINT_URL"] = e.proxy.URL
	for k, v := range env {
		if strings.HasPrefix(k, "AWS_") {
			tb.Setenv(k, v)
		}
	}
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, true)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.PlatformFunction)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	svc.Prime(ctx)
	cancel()
	e.h = svc.Handler()
	return e
}

// setDelay holds every AWS call and every webhook for d.
func (e *platformBenchEnv) setDelay(d time.Duration) {
	e.proxy.SetDelay(d)
	e.hookDelay.Store(int64(d))
}

// BenchmarkPlatformRoundTrips counts the round trips each platform API
// route waits for, one after the other, as BenchmarkRoundTrips does for
// the link: every AWS call (DynamoDB, KMS, Secrets Manager) goes through
// the fault proxy, held for roundTripDelay, and so is every test webhook
// the platform's endpoint receives (a round trip the request waits for,
// though not to AWS: the cases that send one say so, "+ webhook"). The
// latency this adds over the same request undelayed, divided by the
// delay, is the round trips (metric round-trips/op, the mean, as
// BenchmarkRoundTrips reports; median-round-trips/op is the median pair's,
// which moto's occasional stalls do not move). Setup (the customer
// a case reads or changes, the answer a replay replays) runs undelayed.
// docs/performance.md ("Round trips of the platform API") has the figures.
func BenchmarkPlatformRoundTrips(b *testing.B) {
	e := newPlatformBenchEnv(b)
	var tb testing.TB = b // the running (sub-)benchmark, for Fatal
	var cur time.Duration // the measured request's delay
	// Setup ends with a pause, so that moto has finished with it before
	// the measured request (delayed or not) starts.
	setup := func(f func()) { e.setDelay(0); f(); e.setDelay(cur); time.Sleep(20 * time.Millisecond) }
	n := 0
	uniq := func() string { n++; return fmt.Sprintf("%d-%d", time.Now().UnixNano(), n) }
	call := func(method, path, body string, want int, header ...string) (string, time.Duration) {
		start := time.Now()
		w := platformCall(e.h, "tok", method, path, body, header...)
		if strings.HasPrefix(body, "--") { // a multipart form (upload)
			r := httptest.NewRequest(method, "http://api.test"+path, strings.NewReader(body))
			r.SetBasicAuth("tok", "s")
			r.Header.Set("Content-Type", `multipart/form-data; boundary="b"`)
			start = time.Now()
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			w = rec
		}
		took := time.Since(start)
		if w.Code != want {
			tb.Fatalf("%s %s = %d %s; want %d", method, path, w.Code, w.Body, want)
		}
		return w.Body.String(), took
	}
	// An individual with an identifier: its create seals it with KMS.
	const person = `{"customerType":"INDIVIDUAL","fullName":"Ada Lovelace","idType":"SSN","identifier":"123-45-6789"}`
	customer := func() string {
		body, _ := call("POST", "/customers", person, 201)
		return strings.Split(strings.Split(body, `"id":"`)[1], `"`)[0]
	}
	hooks := func() string { return e.hook + "/hooks/" + uniq() }
	call("PATCH", "/config", `{"webhookEndpoint":"`+hooks()+`"}`, 200)
	for range 3 {
		customer() // more than one page's worth is not needed; warm connections
	}
	shared := customer()
	unchanged := e.hook + "/hooks/unchanged"
	// Documents and verifications: a complete individual, an upload form.
	const complete = `{"customerType":"INDIVIDUAL","fullName":"Ada Lovelace","birthDate":"1990-01-15","nationality":"GB",` +
		`"idType":"SSN","identifier":"123-45-6789","address":{"line1":"1 Main St","city":"London","postalCode":"N1","country":"GB"}}`
	upload := func(holder string) string {
		return "--b\r\nContent-Disposition: form-data; name=\"documentHolder\"\r\n\r\n" + holder +
			"\r\n--b\r\nContent-Disposition: form-data; name=\"documentType\"\r\n\r\nPASSPORT" +
			"\r\n--b\r\nContent-Disposition: form-data; name=\"country\"\r\n\r\nGB" +
			"\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\nimage" +
			"\r\n--b--\r\n"
	}
	idIn := func(body string) string { return strings.Split(strings.Split(body, `"id":"`)[1], `"`)[0] }
	docOf := func(holder string) string {
		body, _ := call("POST", "/documents", upload(holder), 201)
		return idIn(body)
	}
	docHolder := customer()
	sharedDoc := docOf(docHolder)
	// KYB: a complete business, its owners.
	business := func() string {
		body, _ := call("POST", "/customers", `{"customerType":"BUSINESS","businessInfo":{"legalName":"Acme","country":"US",`+
			`"taxId":"47-1234567","incorporatedOn":"2018-03-14","countriesOfOperation":["US"]},`+
			`"address":{"line1":"1 Main St","city":"Seattle","postalCode":"98101","country":"US"}}`, 201)
		return idIn(body)
	}
	ownerOf := func(biz, role string, share int) string {
		return fmt.Sprintf(`{"customerId":%q,"roles":[%q],"ownershipPercentage":%d,"personalInfo":{"firstName":"Jane","lastName":"Roe",`+
			`"birthDate":"1978-06-15","nationality":"US","address":{"line1":"1 Main St","city":"Seattle","postalCode":"98101","country":"US"},`+
			`"idType":"SSN","identifier":"123-45-6789"}}`, biz, role, share)
	}
	sharedBiz := business()
	ownerBody, _ := call("POST", "/beneficial-owners", ownerOf(sharedBiz, "UBO", 60), 201)
	sharedOwner := idIn(ownerBody)
	cases := []struct {
		name    string
		request func() time.Duration
	}{
		{"POST customers no key", func() time.Duration {
			_, d := call("POST", "/customers", person, 201)
			return d
		}},
		{"POST customers keyed", func() time.Duration {
			_, d := call("POST", "/customers", person, 201, "Idempotency-Key", "bench-"+uniq())
			return d
		}},
		{"POST customers replay", func() time.Duration {
			key := "bench-" + uniq()
			setup(func() { call("POST", "/customers", person, 201, "Idempotency-Key", key) })
			_, d := call("POST", "/customers", person, 201, "Idempotency-Key", key)
			return d
		}},
		{"GET customer", func() time.Duration {
			_, d := call("GET", "/customers/"+shared, "", 200)
			return d
		}},
		{"GET customers", func() time.Duration {
			_, d := call("GET", "/customers?limit=2", "", 200)
			return d
		}},
		{"PATCH customer", func() time.Duration {
			_, d := call("PATCH", "/customers/"+shared, `{"fullName":"Ada `+uniq()+`"}`, 200)
			return d
		}},
		{"PATCH customer identifier", func() time.Duration {
			_, d := call("PATCH", "/customers/"+shared, `{"identifier":"123-45-6789"}`, 200)
			return d
		}},
		{"DELETE customer", func() time.Duration {
			var id string
			setup(func() { id = customer() })
			_, d := call("DELETE", "/customers/"+id, "", 200)
			return d
		}},
		{"GET config", func() time.Duration {
			_, d := call("GET", "/config", "", 200)
			return d
		}},
		{"PATCH config unchanged", func() time.Duration {
			setup(func() { call("PATCH", "/config", `{"webhookEndpoint":"`+unchanged+`"}`, 200) })
			before := e.hooks.Load()
			_, d := call("PATCH", "/config", `{"webhookEndpoint":"`+unchanged+`"}`, 200)
			if e.hooks.Load() != before {
				tb.Fatal("an unchanged endpoint got a test webhook")
			}
			return d
		}},
		{"PATCH config changed + webhook", func() time.Duration {
			before := e.hooks.Load()
			body, d := call("PATCH", "/config", `{"webhookEndpoint":"`+hooks()+`"}`, 200)
			if e.hooks.Load() != before+1 {
				tb.Fatalf("a changed endpoint got %d test webhooks; want 1 (%s)", e.hooks.Load()-before, body)
			}
			return d
		}},
		{"POST test webhook + webhook", func() time.Duration {
			_, d := call("POST", "/sandbox/webhooks/test", "", 200)
			return d
		}},
		{"POST documents", func() time.Duration {
			var holder string
			setup(func() { holder = customer() })
			_, d := call("POST", "/documents", upload(holder), 201)
			return d
		}},
		{"GET document", func() time.Duration {
			_, d := call("GET", "/documents/"+sharedDoc, "", 200)
			return d
		}},
		{"GET documents of a holder", func() time.Duration {
			_, d := call("GET", "/documents?documentHolder="+docHolder, "", 200)
			return d
		}},
		{"DELETE document", func() time.Duration {
			var doc string
			setup(func() { doc = docOf(docHolder) })
			_, d := call("DELETE", "/documents/"+doc, "", 204)
			return d
		}},
		{"POST verifications complete", func() time.Duration {
			var id string
			setup(func() { body, _ := call("POST", "/customers", complete, 201); id = idIn(body); docOf(id) })
			body, d := call("POST", "/verifications", `{"customerId":"`+id+`"}`, 200)
			if !strings.Contains(body, "IN_PROGRESS") {
				tb.Fatalf("submission: %s", body)
			}
			return d
		}},
		{"POST verifications missing", func() time.Duration {
			_, d := call("POST", "/verifications", `{"customerId":"`+shared+`"}`, 200)
			return d
		}},
		{"GET verifications of a customer", func() time.Duration {
			_, d := call("GET", "/verifications?customerId="+shared, "", 200)
			return d
		}},
		{"POST beneficial-owners", func() time.Duration {
			var biz string
			setup(func() { biz = business() })
			_, d := call("POST", "/beneficial-owners", ownerOf(biz, "UBO", 60), 201)
			return d
		}},
		{"GET beneficial-owner", func() time.Duration {
			_, d := call("GET", "/beneficial-owners/"+sharedOwner, "", 200)
			return d
		}},
		{"GET beneficial-owners of a business", func() time.Duration {
			_, d := call("GET", "/beneficial-owners?customerId="+sharedBiz, "", 200)
			return d
		}},
		{"PATCH beneficial-owner", func() time.Duration {
			_, d := call("PATCH", "/beneficial-owners/"+sharedOwner, `{"personalInfo":{"middleName":"M`+uniq()+`"}}`, 200)
			return d
		}},
		{"PATCH beneficial-owner identifier", func() time.Duration {
			_, d := call("PATCH", "/beneficial-owners/"+sharedOwner, `{"personalInfo":{"idType":"SSN","identifier":"123-45-6789"}}`, 200)
			return d
		}},
		{"POST verifications business with two owners", func() time.Duration {
			var biz string
			setup(func() {
				biz = business()
				for _, t := range []string{"CERTIFICATE_OF_INCORPORATION", "SHAREHOLDER_REGISTER", "DIRECTOR_REGISTRY", "UTILITY_BILL"} {
					call("POST", "/documents", strings.Replace(upload(biz), "PASSPORT", t, 1), 201)
				}
				for _, o := range []string{ownerOf(biz, "CONTROL_PERSON", 0), ownerOf(biz, "UBO", 60)} {
					body, _ := call("POST", "/beneficial-owners", o, 201)
					docOf(idIn(body))
				}
			})
			body, d := call("POST", "/verifications", `{"customerId":"`+biz+`"}`, 200)
			if !strings.Contains(body, "IN_PROGRESS") {
				tb.Fatalf("submission: %s", body)
			}
			return d
		}},
		{"POST document-uploads", func() time.Duration {
			_, d := call("POST", "/document-uploads", `{"documentHolder":"`+docHolder+`"}`, 201)
			return d
		}},
	}
	for _, tc := range cases {
		b.Run(strings.ReplaceAll(tc.name, " ", "_"), func(b *testing.B) {
			tb = b
			var base, delayed time.Duration
			var added []time.Duration // per pair, for the median
			for b.Loop() {
				cur = 0
				e.setDelay(cur)
				b0 := tc.request()
				cur = roundTripDelay
				e.setDelay(cur)
				d0 := tc.request()
				base, delayed, added = base+b0, delayed+d0, append(added, d0-b0)
			}
			cur = 0
			e.setDelay(cur)
			b.ReportMetric(float64(delayed-base)/float64(b.N)/float64(roundTripDelay), "round-trips/op")
			// moto now and then stalls for ~100 ms, which moves a mean of 20
			// by up to 0.3; the median pair does not.
			slices.Sort(added)
			b.ReportMetric(float64(added[len(added)/2])/float64(roundTripDelay), "median-round-trips/op")
		})
	}
}

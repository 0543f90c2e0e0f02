//go:build integration

package app_test

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// BenchmarkContactRoundTrips counts the round trips contact verification
// waits for, one after the other, as BenchmarkRoundTrips does for the
// link: every AWS call (DynamoDB, Secrets Manager, SNS) goes through the
// fault proxy, held for roundTripDelay; the latency this adds over the
// same request undelayed, divided by the delay, is the round trips
// (metric round-trips/op). Cases: a send (SMS), a wrong code, the right
// code.
func BenchmarkContactRoundTrips(b *testing.B) {
	e := contactOnMoto(b)
	// cur is the delay of the case's measured request: setup (a customer,
	// a code sent) runs undelayed.
	var cur time.Duration
	setup := func(f func()) { e.proxy.SetDelay(0); f(); e.proxy.SetDelay(cur) }
	n := 0
	customer := func() string {
		n++
		body := fmt.Sprintf(`{"customerType":"INDIVIDUAL","region":"DE","phoneNumber":"+49151%08d"}`, n)
		w := platformCall(e.h, "tok", "POST", "/customers", body)
		if w.Code != 201 {
			b.Fatalf("create = %d %s", w.Code, w.Body)
		}
		id := strings.Split(strings.Split(w.Body.String(), `"id":"`)[1], `"`)[0]
		return id
	}
	post := func(path, body string, want int) (*httptest.ResponseRecorder, time.Duration) {
		start := time.Now()
		w := platformCall(e.h, "tok", "POST", path, body)
		took := time.Since(start)
		if w.Code != want {
			b.Fatalf("POST %s = %d %s; want %d", path, w.Code, w.Body, want)
		}
		return w, took
	}
	// lastCode is the code of the last SMS moto accepted.
	lastCode := func() string {
		xs := e.proxy.Recorded("sns.Publish")
		form, _ := url.ParseQuery(string(xs[len(xs)-1].Body))
		f := strings.Fields(form.Get("Message"))
		code := strings.TrimSuffix(f[4], ".")
		e.keep(code)
		return code
	}
	sent := func() (id string) {
		id = customer()
		post("/customers/"+id+"/verify-phone", "", 204)
		return id
	}
	e.keep("+49151")
	customer() // warm: secrets, connections
	cases := []struct {
		name    string
		request func() time.Duration
	}{
		{"send", func() time.Duration {
			var id string
			setup(func() { id = customer() })
			_, d := post("/customers/"+id+"/verify-phone", "", 204)
			return d
		}},
		{"wrong code", func() time.Duration {
			var id, wrong string
			setup(func() {
				id, wrong = sent(), "000000"
				if lastCode() == wrong {
					wrong = "000001"
				}
			})
			_, d := post("/customers/"+id+"/verify-phone/confirm", `{"code":"`+wrong+`"}`, 400)
			return d
		}},
		{"right code", func() time.Duration {
			var id, code string
			setup(func() { id = sent(); code = lastCode() })
			_, d := post("/customers/"+id+"/verify-phone/confirm", `{"code":"`+code+`"}`, 200)
			return d
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var base, delayed time.Duration
			for b.Loop() {
				cur = 0
				e.proxy.SetDelay(cur)
				base += tc.request()
				cur = roundTripDelay
				e.proxy.SetDelay(cur)
				delayed += tc.request()
			}
			cur = 0
			e.proxy.SetDelay(cur)
			b.ReportMetric(float64(delayed-base)/float64(b.N)/float64(roundTripDelay), "round-trips/op")
		})
	}
}

//go:build integration

package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/ddbcount"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
)

// BenchmarkRequest measures a request through the whole handler with the
// idempotency table on moto, and reports DynamoDB calls per request
// (ddb-calls/op): goals are 0 without a key, 2 for a first request with a
// key, 1 for a replay. Latency here is moto's, not DynamoDB's.
func BenchmarkRequest(b *testing.B) {
	moto := moto.Need(b)
	table := motostack.New(b, moto, motostack.Options{Only: []string{"IdempotencyTable"}}).Names["IdempotencyTable"]
	db := &ddbcount.Client{API: moto.DynamoDB()}
	e := newEnv(b, &awsstore.Idempotency{Client: db, Table: table})
	e.unchecked = true

	run := func(b *testing.B, key func(i int) string) {
		db.Reset()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			r := post(link(custA), `{"redirectUri":"https://a.example/x"}`)
			if k := key(i); k != "" {
				r.header["Idempotency-Key"] = k
			}
			if w := e.do(r); w.Code != 201 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		b.ReportMetric(float64(db.Total())/float64(b.N), "ddb-calls/op")
	}
	b.Run("no-key", func(b *testing.B) { run(b, func(int) string { return "" }) })
	n := 0
	b.Run("first", func(b *testing.B) {
		n++
		run(b, func(i int) string { return fmt.Sprintf("first-%d-%d", n, i) })
	})
	e.do(post(link(custA), `{"redirectUri":"https://a.example/x"}`, "Idempotency-Key", "replayed"))
	b.Run("replay", func(b *testing.B) { run(b, func(int) string { return "replayed" }) })
}

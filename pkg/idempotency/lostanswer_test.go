//go:build integration

package idempotency_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/grid-kyc/kyc-link/internal/faultproxy"
	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
)

// TestLostAnswersAreOwnWrites: DynamoDB applies a conditional write, the
// answer is lost (dropped connection), and the AWS SDK re-sends it; the
// re-sent write fails its condition on the record the first attempt left.
// The guard must take that as its own success, not as another request.
func TestLostAnswersAreOwnWrites(t *testing.T) {
	moto := moto.Need(t)
	setup := func(t *testing.T) (*faultproxy.Proxy, *idempotency.Guard, *logbuf.Buffer) {
		proxy := faultproxy.New(t, moto.URL)
		cfg := moto.Config()
		cfg.BaseEndpoint = aws.String(proxy.URL)
		table := motostack.New(t, moto, motostack.Options{Only: []string{"IdempotencyTable"}}).Names["IdempotencyTable"]
		logs := &logbuf.Buffer{}
		g := &idempotency.Guard{Secret: secret, Store: &awsstore.Idempotency{Client: dynamodb.NewFromConfig(cfg), Table: table},
			Logger: slog.New(slog.NewJSONHandler(logs, nil))}
		return proxy, g, logs
	}
	ok := func(context.Context, string) idempotency.Response { return created("first") }

	t.Run("acquire", func(t *testing.T) {
		proxy, g, _ := setup(t)
		proxy.Set("PutItem", faultproxy.LoseAnswerOnce)
		resp, replayed, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"), ok)
		if err != nil || replayed || string(resp.Body) != "first" {
			t.Fatalf("Do = %s, replayed %v, %v; want a fresh run (the lost PutItem was ours)", resp.Body, replayed, err)
		}
		if n := proxy.Count("PutItem"); n != 2 {
			t.Fatalf("PutItem sent %d times; want 2 (the SDK re-sends after the lost answer)", n)
		}
	})
	t.Run("complete", func(t *testing.T) {
		proxy, g, logs := setup(t)
		proxy.Set("UpdateItem", faultproxy.LoseAnswerOnce)
		if _, _, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"), ok); err != nil {
			t.Fatal(err)
		}
		if n := proxy.Count("UpdateItem"); n != 2 {
			t.Fatalf("UpdateItem sent %d times; want 2", n)
		}
		if n := proxy.Count("DeleteItem"); n != 0 || strings.Contains(logs.String(), "WARN") {
			t.Fatalf("a stored response was taken for a failure: %d DeleteItem calls, log %s", n, logs)
		}
		resp, replayed, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"), ok)
		if err != nil || !replayed || string(resp.Body) != "first" {
			t.Fatalf("replay = %s, replayed %v, %v; want the stored response", resp.Body, replayed, err)
		}
	})
	t.Run("release", func(t *testing.T) {
		proxy, g, logs := setup(t)
		proxy.Set("DeleteItem", faultproxy.LoseAnswerOnce)
		refused := func(context.Context, string) idempotency.Response { return idempotency.Response{Status: 400} }
		if _, _, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"), refused); err != nil {
			t.Fatal(err)
		}
		if n := proxy.Count("DeleteItem"); n != 2 {
			t.Fatalf("DeleteItem sent %d times; want 2", n)
		}
		if strings.Contains(logs.String(), "WARN") {
			t.Fatalf("a released key was reported as stuck: %s", logs)
		}
		resp, replayed, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("corrected"), ok)
		if err != nil || replayed || string(resp.Body) != "first" {
			t.Fatalf("corrected retry = %s, replayed %v, %v; want a fresh run", resp.Body, replayed, err)
		}
	})
	t.Run("abandon", func(t *testing.T) {
		proxy, g, logs := setup(t)
		proxy.Set("UpdateItem", faultproxy.LoseAnswerOnce)
		var intents []string
		failing := func(_ context.Context, intent string) idempotency.Response {
			intents = append(intents, intent)
			return idempotency.Response{Status: 503}
		}
		if _, _, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"), failing); err != nil {
			t.Fatal(err)
		}
		if n := proxy.Count("UpdateItem"); n != 2 {
			t.Fatalf("UpdateItem sent %d times; want 2", n)
		}
		if strings.Contains(logs.String(), "WARN") {
			t.Fatalf("an unlocked key was reported as stuck: %s", logs)
		}
		resp, replayed, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"), func(_ context.Context, intent string) idempotency.Response {
			intents = append(intents, intent)
			return created("first")
		})
		if err != nil || replayed || string(resp.Body) != "first" || len(intents) != 2 || intents[0] != intents[1] {
			t.Fatalf("retry = %s, replayed %v, %v, intents %q; want a run at once under the first intent", resp.Body, replayed, err, intents)
		}
	})
	t.Run("take over", func(t *testing.T) {
		proxy, g, _ := setup(t)
		g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"), func(context.Context, string) idempotency.Response {
			return idempotency.Response{Status: 503}
		})
		proxy.Set("UpdateItem", faultproxy.LoseAnswerOnce)
		resp, _, err := g.Do(withDeadline(t, 2*time.Second), "p", "k", pl("fp"), ok)
		if err != nil || string(resp.Body) != "first" {
			t.Fatalf("retry whose takeover's answer was lost = %s, %v; want it run (the takeover was its own)", resp.Body, err)
		}
	})
}

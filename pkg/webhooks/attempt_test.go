package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// failingDeadLetters refuses its first puts, then keeps what it is given.
type failingDeadLetters struct {
	mu     sync.Mutex
	refuse int // puts still to refuse
	puts   int
	kept   []webhooks.DeadLetter
}

func (d *failingDeadLetters) Put(_ context.Context, dl webhooks.DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.puts++
	if d.refuse > 0 {
		d.refuse--
		return errors.New("dead-letter table unavailable")
	}
	d.kept = append(d.kept, dl)
	return nil
}

func (d *failingDeadLetters) state() (puts int, kept []webhooks.DeadLetter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.puts, append([]webhooks.DeadLetter(nil), d.kept...)
}

const (
	putFailed  = `"level":"ERROR","msg":"webhook: storing the dead letter failed; the message stays queued"`
	deadMetric = `"WebhookDeadLetters":1`
)

// TestDeadLetterFailureIsHandledOnBothPaths: a notice given up on whose
// dead letter cannot be stored is not dropped: the queue worker leaves its
// message for redelivery, the in-process queue attempts it again later;
// both log the failure at ERROR, count nothing until the dead letter is
// stored, then count it once (KycLink/WebhookDeadLetters). Before, the
// in-process queue ignored the store's error: the notice was lost, with
// neither a log line nor the metric.
func TestDeadLetterFailureIsHandledOnBothPaths(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	t.Cleanup(down.Close)
	p := newPlatforms(t)
	setup := func(t *testing.T) (*webhooks.Worker, *failingDeadLetters, *logbuf.Buffer) {
		logs, dead := &logbuf.Buffer{}, &failingDeadLetters{refuse: 1}
		w := p.worker(nil, 10)
		w.Deliverer.Platforms = memstore.NewPlatforms(map[string]string{"down": down.URL})
		// Every failure is past the retry window: given up at once.
		w.Policy = webhooks.Policy{Base: 10 * time.Millisecond, Max: 10 * time.Millisecond, RetryFor: 0}
		w.DeadLetters, w.Logger = dead, logs.Logger()
		return w, dead, logs
	}
	check := func(t *testing.T, dead *failingDeadLetters, logs *logbuf.Buffer) {
		t.Helper()
		puts, kept := dead.state()
		if puts != 2 || len(kept) != 1 || kept[0].Notice.ID != "Webhook:dl" || kept[0].Attempts != 2 {
			t.Errorf("%d puts, kept %+v; want the refused one, then Webhook:dl kept at attempt 2", puts, kept)
		}
		if n := strings.Count(logs.String(), putFailed); n != 1 {
			t.Errorf("%d ERROR lines for the refused dead letter; want 1:\n%s", n, logs)
		}
		if n := strings.Count(logs.String(), deadMetric); n != 1 {
			t.Errorf("%d dead-letter metric lines; want 1 (the stored one):\n%s", n, logs)
		}
	}

	t.Run("queue worker", func(t *testing.T) {
		w, dead, logs := setup(t)
		handle := func(receives string) events.SQSEventResponse {
			resp, err := w.HandleSQS(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1",
				Body: p.message("Webhook:dl", "down"), Attributes: map[string]string{"ApproximateReceiveCount": receives}}}})
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		if resp := handle("1"); len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m1" {
			t.Fatalf("batch failures %+v after the refused dead letter; want m1 left for redelivery", resp.BatchItemFailures)
		}
		if strings.Contains(logs.String(), deadMetric) {
			t.Fatalf("the refused dead letter was counted:\n%s", logs)
		}
		if resp := handle("2"); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("batch failures %+v once the dead letter was stored; want none", resp.BatchItemFailures)
		}
		check(t, dead, logs)
	})
	t.Run("local queue worker", func(t *testing.T) {
		// Poll: the refused dead letter's message is not deleted (it comes
		// back after its visibility timeout, beyond this test).
		w, dead, logs := setup(t)
		q := &fakeQueue{}
		w.Queue = q
		q.add(p.message("Webhook:dl", "down"))
		stop := run(t, w.Poll)
		waitUntil(t, "the dead letter refused", func() bool { puts, _ := dead.state(); return puts == 1 })
		time.Sleep(50 * time.Millisecond) // time for a wrong delete to land
		stop()
		q.mu.Lock()
		deletes := q.deletes
		q.mu.Unlock()
		if deletes != 0 || strings.Count(logs.String(), putFailed) != 1 || strings.Contains(logs.String(), deadMetric) {
			t.Fatalf("%d deletes; want the message kept, the failure logged, nothing counted:\n%s", deletes, logs)
		}
	})
	t.Run("in-process queue", func(t *testing.T) {
		w, dead, logs := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		q := &webhooks.MemoryQueue{Context: ctx, Deliverer: w.Deliverer, Policy: w.Policy, DeadLetters: dead,
			AttemptTimeout: w.AttemptTimeout, Now: time.Now, Logger: w.Logger}
		q.Enqueue(kyc.Notice{ID: "Webhook:dl", PlatformID: "down", Type: "CUSTOMER.KYC_PENDING", CreatedAt: time.Now(), Body: []byte(`{"id":"Webhook:dl"}`)})
		end := time.Now().Add(10 * time.Second) // the retry comes 10 ms later
		for !strings.Contains(logs.String(), deadMetric) {
			if time.Now().After(end) {
				t.Fatalf("the notice whose dead letter was refused was never dead-lettered (attempted again):\n%s", logs)
			}
			time.Sleep(5 * time.Millisecond)
		}
		check(t, dead, logs)
	})
}

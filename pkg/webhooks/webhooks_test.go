package webhooks_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

func TestBackoff(t *testing.T) {
	p := webhooks.Policy{Base: time.Minute, Max: 30 * time.Minute, RetryFor: 168 * time.Hour}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s; want %s", i+1, got, w)
		}
	}
	if got := p.Backoff(1000); got != 30*time.Minute {
		t.Errorf("Backoff(1000) = %s; want the 30m cap", got)
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if p.Expired(created, created.Add(167*time.Hour)) || !p.Expired(created, created.Add(168*time.Hour)) {
		t.Error("Expired must turn true exactly at RetryFor")
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://hooks.example.com/grid", false, true},
		{"http://hooks.example.com/grid", false, false},
		{"http://127.0.0.1:8080/x", false, false},
		{"http://127.0.0.1:8080/x", true, true},
		{"http://localhost/x", true, true},
		{"http://10.0.0.1/x", true, false},
		{"ftp://hooks.example.com/", false, false},
		{"https://user:pw@hooks.example.com/", false, false},
		{"https:///nohost", false, false},
		{"::", false, false},
	} {
		if _, err := webhooks.CheckURL(tc.url, tc.loopback); (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q, loopback=%v) = %v; want ok=%v", tc.url, tc.loopback, err, tc.ok)
		}
	}
}

// TestClientRefusesNonPublicAddresses: the delivery client will not connect
// to loopback (unless allowed), private, link-local (the metadata service),
// CGNAT or unspecified addresses, whatever name led there.
func TestClientRefusesNonPublicAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	strict := webhooks.NewClient(2*time.Second, false)
	for _, u := range []string{
		srv.URL, "http://localhost" + port, "http://[::1]" + port, "http://10.1.2.3:80", "http://192.168.1.1:80", "http://172.16.0.1:80",
		"http://169.254.169.254/latest/meta-data/", "http://100.64.0.1:80", "http://0.0.0.0" + port, "http://[fd00:ec2::254]/",
	} {
		_, err := strict.Get(u)
		if !errors.Is(err, webhooks.ErrForbiddenAddress) {
			t.Errorf("GET %s = %v; want ErrForbiddenAddress", u, err)
		}
	}
	if _, err := webhooks.NewClient(2*time.Second, true).Get(srv.URL); err != nil {
		t.Errorf("with loopback allowed: %v", err)
	}
}

type keyOf struct{ k *ecdsa.PrivateKey }

func (k keyOf) Get(context.Context) (*ecdsa.PrivateKey, error) { return k.k, nil }

// TestSlowPlatformBlocksNoOther: in a Lambda batch, a platform that hangs
// holds only its own delivery: the other platform's webhooks arrive while
// it still hangs (it is released only once they did, and its attempt
// timeout outlasts the test), and only its message is reported failed.
func TestSlowPlatformBlocksNoOther(t *testing.T) {
	p := newPlatforms(t)
	w := p.worker(nil, 10)
	msg := func(id, platform string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, Body: p.message(id, platform), Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
	}
	done := make(chan events.SQSEventResponse, 1)
	go func() {
		resp, err := w.HandleSQS(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
			msg("Webhook:slow", "slow"), msg("Webhook:f1", "fast"), msg("Webhook:f2", "fast")}})
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	p.waitFast(t, "Webhook:f1", "Webhook:f2")
	p.release() // the slow platform now answers 503
	resp := <-done
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "Webhook:slow" {
		t.Fatalf("batch failures = %+v; want only the slow platform's", resp.BatchItemFailures)
	}
}

// testPlatforms is a platform that hangs until released (then answers
// 503), a fast one, and one that answers 500 three times before it
// accepts.
type testPlatforms struct {
	key              *ecdsa.PrivateKey
	slow, fast, flak *httptest.Server
	entered          chan string // the webhook ids the slow platform got
	fastGot          chan string
	flakyHits        atomic.Int32
	once             sync.Once
	released         chan struct{}
}

func newPlatforms(t *testing.T) *testPlatforms {
	secret, _, _ := gridhook.NewKey()
	key, _ := gridhook.ParseSigningSecret(secret)
	p := &testPlatforms{key: key, entered: make(chan string, 100), fastGot: make(chan string, 100), released: make(chan struct{})}
	id := func(r *http.Request) string {
		var env struct{ ID string }
		json.NewDecoder(r.Body).Decode(&env)
		return env.ID
	}
	p.slow = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.entered <- id(r)
		select {
		case <-p.released:
			w.WriteHeader(http.StatusServiceUnavailable)
		case <-r.Context().Done():
		}
	}))
	p.fast = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.fastGot <- id(r) }))
	p.flak = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.flakyHits.Add(1) <= 3 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	// Cleanups run last first: the hang ends before the servers close.
	t.Cleanup(p.slow.Close)
	t.Cleanup(p.fast.Close)
	t.Cleanup(p.flak.Close)
	t.Cleanup(p.release)
	return p
}

func (p *testPlatforms) release() { p.once.Do(func() { close(p.released) }) }

// worker delivers to the three platforms; one attempt may last ten
// minutes, far beyond any wait of the tests, so only a hang that holds
// nobody else lets them pass.
func (p *testPlatforms) worker(q webhooks.Queue, concurrency int) *webhooks.Worker {
	return &webhooks.Worker{
		Deliverer: &webhooks.Deliverer{Platforms: memstore.NewPlatforms(map[string]string{"slow": p.slow.URL, "fast": p.fast.URL, "flaky": p.flak.URL}),
			Key: keyOf{p.key}, Client: webhooks.NewClient(10*time.Minute, true), AllowLoopback: true},
		Policy: webhooks.Policy{Base: time.Second, Max: time.Second, RetryFor: time.Hour}, Queue: q,
		DeadLetters: &memstore.DeadLetters{}, AttemptTimeout: 10 * time.Minute, Concurrency: concurrency,
		Now: time.Now, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
}

// message is a queued notice for platform.
func (p *testPlatforms) message(id, platform string) string {
	body, _ := webhooks.EncodeMessage(kyc.Notice{ID: id, PlatformID: platform, Type: "CUSTOMER.KYC_PENDING", CreatedAt: time.Now(),
		Body: []byte(`{"id":"` + id + `"}`)})
	return string(body)
}

// wait is the bound of every wait: far beyond what the deliveries take on
// a loaded machine, far below the hang's ten minutes.
const wait = 60 * time.Second

// waitFast waits until the fast platform got every id.
func (p *testPlatforms) waitFast(t *testing.T, ids ...string) {
	t.Helper()
	timeout := time.After(wait)
	for missing := set(ids...); len(missing) > 0; {
		select {
		case id := <-p.fastGot:
			delete(missing, id)
		case <-timeout:
			t.Fatalf("the fast platform did not get %v while the slow one hung", slices.Sorted(maps.Keys(missing)))
		}
	}
}

// waitSlow waits until the slow platform got n attempts.
func (p *testPlatforms) waitSlow(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(wait)
	for range n {
		select {
		case <-p.entered:
		case <-timeout:
			t.Fatalf("the slow platform did not get %d attempts", n)
		}
	}
}

func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// TestMemoryQueueSlowPlatformBlocksNoOther: make run's in-process queue
// attempts each notice on its own: a webhook enqueued while another
// platform hangs is delivered during the hang.
func TestMemoryQueueSlowPlatformBlocksNoOther(t *testing.T) {
	p := newPlatforms(t)
	w := p.worker(nil, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	q := &webhooks.MemoryQueue{Context: ctx, Deliverer: w.Deliverer, Policy: w.Policy, DeadLetters: w.DeadLetters,
		AttemptTimeout: w.AttemptTimeout, Now: time.Now, Logger: w.Logger}
	enqueue := func(id, platform string) {
		done := make(chan struct{})
		go func() {
			q.Enqueue(kyc.Notice{ID: id, PlatformID: platform, CreatedAt: time.Now(), Body: []byte(`{"id":"` + id + `"}`)})
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatalf("Enqueue(%s) waited for the delivery", id)
		}
	}
	enqueue("Webhook:slow", "slow")
	p.waitSlow(t, 1)
	enqueue("Webhook:f1", "fast")
	p.waitFast(t, "Webhook:f1")
}

// unreadableBodies are queue messages that are no notice, the last one
// over the kept size in two-byte characters.
var unreadableBodies = []string{"Message Body", "{}", `{"id":"Webhook:no-body"}`, "[1,2]", strings.Repeat("é", 40<<10)}

// checkUnreadable: one dead letter per message, keyed by its message id,
// each with its body, the long one cut at a character boundary and said so.
func checkUnreadable(t *testing.T, got []webhooks.DeadLetter, ids []string) {
	t.Helper()
	if len(got) != len(ids) {
		t.Fatalf("%d dead letters for %d unreadable messages: %v", len(got), len(ids), got)
	}
	byID := map[string]webhooks.DeadLetter{}
	for _, dl := range got {
		byID[dl.Notice.ID] = dl
	}
	for i, id := range ids {
		dl, ok := byID["unreadable:"+id]
		if !ok {
			t.Fatalf("no dead letter unreadable:%s; have %v", id, slices.Collect(maps.Keys(byID)))
		}
		body, want := string(dl.Notice.Body), unreadableBodies[i]
		if len(want) <= 64<<10 {
			if body != want || strings.Contains(dl.LastError, "truncated") {
				t.Errorf("%s: body %q, last error %q; want the whole body %q", id, body, dl.LastError, want)
			}
			continue
		}
		if len(body) > 64<<10 || len(body) < 64<<10-1 || !strings.HasPrefix(want, body) || !utf8.ValidString(body) ||
			!strings.Contains(dl.LastError, "truncated") {
			t.Errorf("%s: kept %d bytes (valid UTF-8 %v), last error %q; want the first 64 KiB, whole characters, marked truncated",
				id, len(body), utf8.ValidString(body), dl.LastError)
		}
	}
}

// TestUnreadableMessagesKeepOneDeadLetterEach: messages that are no notice
// are dead-lettered under their message id, so several whose receipt
// handles share a long prefix (as the MessageReceiptHandle… handles of
// aws-lambda-go's sqs-event.json do) keep one dead letter each, with the
// body for an operator, bounded.
func TestUnreadableMessagesKeepOneDeadLetterEach(t *testing.T) {
	var ids []string
	for i := range unreadableBodies {
		ids = append(ids, fmt.Sprintf("msg-%d", i+1))
	}
	t.Run("HandleSQS", func(t *testing.T) {
		dead := &memstore.DeadLetters{}
		w := newPlatforms(t).worker(nil, 10)
		w.DeadLetters = dead
		var ev events.SQSEvent
		for i, b := range unreadableBodies {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: ids[i], ReceiptHandle: fmt.Sprintf("MessageReceiptHandle-%d", i), Body: b,
				Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
		}
		resp, err := w.HandleSQS(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("HandleSQS = %+v, %v; want every message done", resp, err)
		}
		got, _ := dead.List(context.Background())
		checkUnreadable(t, got, ids)
	})
	t.Run("Poll", func(t *testing.T) {
		dead := &memstore.DeadLetters{}
		q := &fakeQueue{}
		q.add(unreadableBodies...) // message ids msg-1…, receipt handles MessageReceiptHandle-…
		w := newPlatforms(t).worker(q, 10)
		w.DeadLetters = dead
		stop := run(t, w.Poll)
		waitUntil(t, "every unreadable message dead-lettered and deleted", func() bool {
			q.mu.Lock()
			defer q.mu.Unlock()
			return q.deletes == len(unreadableBodies)
		})
		stop()
		got, _ := dead.List(context.Background())
		checkUnreadable(t, got, ids)
	})
}

// TestRedriveLeavesUnreadableDeadLetters: a redrive queues the notices
// again and leaves the unreadable messages' dead letters for an operator
// (queued, they would be dropped for want of a platform and removed).
func TestRedriveLeavesUnreadableDeadLetters(t *testing.T) {
	dead := &memstore.DeadLetters{}
	ctx := context.Background()
	dead.Put(ctx, webhooks.DeadLetter{Notice: kyc.Notice{ID: "Webhook:a", PlatformID: "p", Type: "CUSTOMER.KYC_PENDING", Body: []byte(`{"id":"Webhook:a"}`)}})
	dead.Put(ctx, webhooks.DeadLetter{Notice: kyc.Notice{ID: "unreadable:msg-1", Body: []byte("Message Body")}})
	q := &fakeQueue{}
	n, err := webhooks.Redrive(ctx, dead, &webhooks.Relay{Queue: q}, time.Now())
	if n != 1 || err != nil {
		t.Fatalf("Redrive = %d, %v; want 1 queued", n, err)
	}
	if diff := cmp.Diff([]string{"Webhook:a"}, q.ids()); diff != "" {
		t.Errorf("queued (-want +got):\n%s", diff)
	}
	left, _ := dead.List(ctx)
	if len(left) != 1 || left[0].Notice.ID != "unreadable:msg-1" {
		t.Errorf("left %+v; want only unreadable:msg-1", left)
	}
}

// run runs poll until the returned stop, which waits for it to return.
func run(t *testing.T, poll func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { poll(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitUntil polls cond until it holds, for at most wait.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(wait); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after %s: not %s", wait, what)
		}
	}
}

// TestDroppedWhenNoURL: a platform without a webhook URL has nothing to
// deliver to; the notice is done, not retried for a week.
func TestDroppedWhenNoURL(t *testing.T) {
	d := &webhooks.Deliverer{Platforms: memstore.NewPlatforms(map[string]string{})}
	if got, err := d.Deliver(context.Background(), kyc.Notice{ID: "Webhook:x", PlatformID: "none"}); got != webhooks.Dropped || err != nil {
		t.Fatalf("Deliver = %s, %v; want dropped", got, err)
	}
}

package motoserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeMoto answers each call at once, or, for a body starting "hold",
// only once the test releases it (or the test ends). It records the calls
// it saw and whether two DynamoDB calls were ever inside at once.
type fakeMoto struct {
	mu       sync.Mutex
	seen     []string
	entered  map[string]chan struct{}
	release  map[string]chan struct{}
	stop     chan struct{}
	active   atomic.Int32
	overlaps atomic.Int32
}

// proxied starts a fake moto that holds the calls with the given bodies,
// and an atomic proxy (hold: its hold limit) in front of it; it returns the
// proxy's URL.
func proxied(t *testing.T, hold time.Duration, holds ...string) (*fakeMoto, string, *atomicProxy) {
	f := &fakeMoto{entered: map[string]chan struct{}{}, release: map[string]chan struct{}{}, stop: make(chan struct{})}
	for _, h := range holds {
		f.entered[h], f.release[h] = make(chan struct{}), make(chan struct{})
	}
	moto := httptest.NewServer(f)
	t.Cleanup(moto.Close)
	u, _ := url.Parse(moto.URL)
	proxy := newAtomicProxy(u)
	proxy.hold = hold
	p := httptest.NewServer(proxy)
	t.Cleanup(p.Close)
	t.Cleanup(func() { close(f.stop) }) // runs first: frees held calls so both servers can close
	return f, p.URL, proxy
}

// queued counts the calls waiting for their turn.
func queued(t *turn) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.writes) + len(t.reads)
}

func (f *fakeMoto) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	body := string(b)
	dynamo := strings.HasPrefix(r.Header.Get("X-Amz-Target"), dynamoDBTarget)
	if dynamo && f.active.Add(1) > 1 {
		f.overlaps.Add(1)
	}
	f.mu.Lock()
	f.seen = append(f.seen, body)
	entered, release := f.entered[body], f.release[body]
	f.mu.Unlock()
	if entered != nil {
		close(entered)
		select {
		case <-release:
		case <-f.stop:
		}
	}
	if dynamo {
		f.active.Add(-1)
	}
	io.WriteString(w, "ok "+body)
}

func (f *fakeMoto) saw(body string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.seen {
		if s == body {
			return true
		}
	}
	return false
}

// call posts body with target through the proxy at base; wrote, if not
// nil, is closed once the whole request is sent.
func call(ctx context.Context, base, target, body string, wrote chan struct{}) (int, error) {
	if wrote != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }})
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", base, strings.NewReader(body))
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func bounded(t *testing.T) context.Context {
	// Generous: only a call that never ends (a bug) reaches it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

const putItem = dynamoDBTarget + "PutItem"

// TestProxyRunsOneDynamoDBCallAtATime: many DynamoDB calls at once reach
// moto one after the other; the rest of moto's services pass alongside a
// DynamoDB call that is still running.
func TestProxyRunsOneDynamoDBCallAtATime(t *testing.T) {
	f, base, _ := proxied(t, holdLimit, "hold")
	ctx := bounded(t)
	held := make(chan error, 1)
	go func() { _, err := call(ctx, base, putItem, "hold", nil); held <- err }()
	<-f.entered["hold"]
	// Not DynamoDB: answered while the DynamoDB call holds its turn.
	for _, target := range []string{"DynamoDBStreams_20120810.GetRecords", "AmazonSQS.ReceiveMessage", "secretsmanager.GetSecretValue"} {
		if code, err := call(ctx, base, target, target, nil); code != 200 || err != nil {
			t.Fatalf("%s while a DynamoDB call runs = %d, %v; want it answered alongside", target, code, err)
		}
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if code, err := call(ctx, base, putItem, "quick-"+string(rune('a'+i)), nil); code != 200 || err != nil {
				t.Errorf("queued call = %d, %v", code, err)
			}
		})
	}
	// Time for a call that skipped the queue to reach moto; none may.
	time.Sleep(100 * time.Millisecond)
	if f.saw("quick-a") || f.overlaps.Load() > 0 {
		t.Fatal("a DynamoDB call reached moto while another was running")
	}
	close(f.release["hold"])
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if n := f.overlaps.Load(); n != 0 {
		t.Fatalf("%d DynamoDB calls overlapped in moto; want none", n)
	}
}

// TestProxyTurnFollowsTheCaller: a caller that gives up while waiting
// never reaches moto; one that gives up while moto runs its call keeps
// the next caller waiting until moto has answered it (moto finishes it
// anyway); a call moto never answers frees the turn after the hold limit.
func TestProxyTurnFollowsTheCaller(t *testing.T) {
	t.Run("gave up waiting", func(t *testing.T) {
		f, base, proxy := proxied(t, holdLimit, "first")
		ctx := bounded(t)
		go call(ctx, base, putItem, "first", nil)
		<-f.entered["first"]
		// Straight to the handler: over a connection, a caller that leaves
		// at once may be gone before the proxy has read its call.
		waiting, leave := context.WithCancel(ctx)
		req := httptest.NewRequestWithContext(waiting, "POST", "/", strings.NewReader("gave-up"))
		req.Header.Set("X-Amz-Target", putItem)
		done := make(chan struct{})
		go func() { proxy.ServeHTTP(httptest.NewRecorder(), req); close(done) }()
		for queued(&proxy.turn) == 0 {
			select {
			case <-ctx.Done():
				t.Fatal("the call never queued for its turn")
			case <-time.After(time.Millisecond):
			}
		}
		leave()
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("a caller that gave up waiting is still waiting")
		}
		if n := queued(&proxy.turn); n != 0 {
			t.Fatalf("%d calls still queued after the caller left; want none", n)
		}
		close(f.release["first"])
		if code, err := call(ctx, base, putItem, "next", nil); code != 200 || err != nil {
			t.Fatalf("next call = %d, %v", code, err)
		}
		if f.saw("gave-up") {
			t.Fatal("a call whose caller gave up waiting reached moto")
		}
	})
	t.Run("gave up while moto runs it", func(t *testing.T) {
		f, base, _ := proxied(t, holdLimit, "running")
		ctx := bounded(t)
		running, leave := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { _, err := call(running, base, putItem, "running", nil); done <- err }()
		<-f.entered["running"]
		leave()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("the leaving caller = %v; want its own cancellation", err)
		}
		next := make(chan error, 1)
		wrote := make(chan struct{})
		go func() { _, err := call(ctx, base, putItem, "next", wrote); next <- err }()
		<-wrote
		time.Sleep(100 * time.Millisecond) // time for a bug to let it through
		if f.saw("next") {
			t.Fatal("the next call reached moto while moto still ran the call of a caller that left")
		}
		close(f.release["running"])
		if err := <-next; err != nil {
			t.Fatal(err)
		}
		if !f.saw("next") || f.overlaps.Load() != 0 {
			t.Fatalf("next seen %v, overlaps %d; want it run after the first", f.saw("next"), f.overlaps.Load())
		}
	})
	t.Run("moto never answers", func(t *testing.T) {
		f, base, _ := proxied(t, 200*time.Millisecond, "wedged")
		ctx := bounded(t)
		if code, err := call(ctx, base, putItem, "wedged", nil); code != http.StatusBadGateway || err != nil {
			t.Fatalf("a call moto never answers = %d, %v; want 502 after the hold limit", code, err)
		}
		if code, err := call(ctx, base, putItem, "next", nil); code != 200 || err != nil || !f.saw("next") {
			t.Fatalf("next call = %d, %v (reached moto: %v); want it run", code, err, f.saw("next"))
		}
	})
}

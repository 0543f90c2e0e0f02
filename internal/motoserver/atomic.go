package motoserver

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// dynamoDBTarget starts the X-Amz-Target of every DynamoDB call (not
// DynamoDB Streams, whose calls start "DynamoDBStreams_20120810.").
const dynamoDBTarget = "DynamoDB_20120810."

// holdLimit bounds how long one DynamoDB call may keep the others
// waiting: a moto that has not answered by then is wedged, and the call
// fails (502) so the rest can go on.
const holdLimit = time.Minute

// atomicProxy stands in front of moto_server and lets one DynamoDB call
// run at a time. moto checks a condition and applies the write as separate
// steps that concurrent calls interleave (two winners of one conditional
// PutItem, lost ADDs), updates items in place under concurrent reads, and
// rolls a cancelled TransactWriteItems back by putting back copies of
// whole tables taken when it began, undoing what committed in between;
// DynamoDB is atomic per item and isolates transactions. One at a time
// gives moto those semantics. Everything else (DynamoDB Streams, SQS long
// polls, Secrets Manager) passes through side by side.
type atomicProxy struct {
	rp   *httputil.ReverseProxy
	turn turn
	hold time.Duration // holdLimit; shorter in tests
}

// readOps are the DynamoDB calls that change nothing. They wait while
// writes are queued: in DynamoDB reads never delay a write, and a write
// queued behind many reads (duplicates polling for a result) would miss
// deadlines it meets in DynamoDB.
var readOps = map[string]bool{
	"GetItem": true, "BatchGetItem": true, "Query": true, "Scan": true, "TransactGetItems": true,
	"DescribeTable": true, "DescribeTimeToLive": true, "ListTables": true, "DescribeContinuousBackups": true,
	"ListTagsOfResource": true, "DescribeEndpoints": true, "DescribeLimits": true,
}

func newAtomicProxy(target *url.URL) *atomicProxy {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Reused connections: moto starts a thread per connection.
	tr.MaxIdleConnsPerHost = 64
	errLog := log.New(io.Discard, "", 0) // callers that give up are expected
	if os.Getenv("MOTO_LOG") != "" {
		errLog = log.New(os.Stderr, "motoserver proxy: ", 0)
	}
	return &atomicProxy{
		hold: holdLimit,
		rp: &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				// moto builds SQS queue URLs from the Host it is asked on:
				// they must name the proxy, as every client does.
				r.Out.Host = r.In.Host
			},
			Transport: tr,
			ErrorLog:  errLog,
		},
	}
}

func (p *atomicProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), dynamoDBTarget)
	if !ok {
		p.rp.ServeHTTP(w, r)
		return
	}
	// The body is read before the turn is taken, so a slow or vanished
	// sender holds nobody up.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client is gone
	}
	if p.turn.take(r.Context(), !readOps[op]) != nil {
		return // gave up waiting: it never reaches moto
	}
	defer p.turn.give()
	if r.Context().Err() != nil {
		return // gave up as its turn came
	}
	// Once sent, moto runs the call to the end even if its client leaves,
	// so the next call waits for moto's answer, not for the client: the
	// call to moto outlives the client's context, up to holdLimit.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), p.hold)
	defer cancel()
	out := r.Clone(ctx)
	out.Body, out.ContentLength, out.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
	p.rp.ServeHTTP(w, out)
}

// turn is a lock for one caller at a time that callers can stop waiting
// for (with their context). Waiting writes go before waiting reads; each
// kind in arrival order.
type turn struct {
	mu            sync.Mutex
	busy          bool
	writes, reads []chan struct{} // waiting; closed when handed the turn
}

// take waits for the turn until ctx ends.
func (t *turn) take(ctx context.Context, write bool) error {
	t.mu.Lock()
	if !t.busy {
		t.busy = true
		t.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	q := &t.reads
	if write {
		q = &t.writes
	}
	*q = append(*q, ch)
	t.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	t.mu.Lock()
	i := slices.Index(*q, ch)
	if i >= 0 {
		*q = slices.Delete(*q, i, i+1)
	}
	t.mu.Unlock()
	if i < 0 { // handed the turn as ctx ended: pass it on
		t.give()
	}
	return ctx.Err()
}

// give hands the turn to the next waiting write, else read, else frees it.
func (t *turn) give() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, q := range []*[]chan struct{}{&t.writes, &t.reads} {
		if len(*q) > 0 {
			next := (*q)[0]
			*q = (*q)[1:]
			close(next)
			return
		}
	}
	t.busy = false
}

// Package faultproxy is a proxy for tests that stands between an AWS SDK
// client and an emulator (moto_server) and injects faults per operation:
// dropped connections, throttling, 5xx, hangs, and writes whose answer is
// lost after the emulator applied them.
package faultproxy

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mode is what the proxy does with a matching request.
type Mode string

const (
	Pass     Mode = ""
	Down     Mode = "down"     // the connection is dropped before the emulator sees the request
	Throttle Mode = "throttle" // DynamoDB ThrottlingException
	Fail5xx  Mode = "5xx"      // InternalServerError
	Hang     Mode = "hang"     // no answer until the caller gives up
	// LoseAnswerOnce forwards the request, lets the emulator apply it, then
	// drops the connection instead of answering; the next matching request
	// passes. It is the lost answer that makes an SDK re-send a write that
	// already succeeded.
	LoseAnswerOnce Mode = "lose-answer-once"
	// LoseAnswer is LoseAnswerOnce every time: each request is applied and
	// its answer lost, so the caller's retries all fail after the write
	// landed.
	LoseAnswer Mode = "lose-answer"
)

// Code answers with the AWS error code (400, as AWS answers client
// errors): AccessDeniedException, DecryptionFailure, and so on.
func Code(code string) Mode { return Mode("code:" + code) }

// Proxy is a running fault proxy. Point the SDK at URL.
type Proxy struct {
	*httptest.Server
	mu     sync.Mutex
	faults map[string]Mode // operation suffix or service prefix -> mode
	seen   map[string]int  // X-Amz-Target -> requests
	delay  time.Duration   // added to every request
	stop   chan struct{}
}

// SetDelay holds every request for d before handling it, as a network
// round trip of d would: latency added by it, divided by d, counts the
// round trips a caller makes one after the other.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// New starts a proxy to target for the rest of tb.
func New(tb testing.TB, target string) *Proxy {
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// A caller that gives up (a cancelled lookup, a timeout) is expected.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p := &Proxy{faults: map[string]Mode{}, seen: map[string]int{}, stop: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		p.mu.Lock()
		delay := p.delay
		p.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		m := p.take(op)
		if code, ok := strings.CutPrefix(string(m), "code:"); ok {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"`+code+`","message":"injected `+code+`"}`)
			return
		}
		switch m {
		case Down:
			drop(w)
		case Throttle:
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)
		case Fail5xx:
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(500)
			io.WriteString(w, `{"__type":"InternalServerError","message":"injected"}`)
		case Hang:
			// Reading the body lets the server notice the client leaving.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-p.stop:
			}
		case LoseAnswerOnce, LoseAnswer:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			drop(w)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	tb.Cleanup(p.Close)
	tb.Cleanup(func() { close(p.stop) }) // runs first: frees hung handlers so Close can finish
	return p
}

func drop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// take returns the mode for op and counts the request; a LoseAnswerOnce
// fault is used up by it.
func (p *Proxy) take(op string) Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[op]++
	for k, m := range p.faults {
		if strings.HasPrefix(op, k) || strings.HasSuffix(op, "."+k) {
			if m == LoseAnswerOnce {
				delete(p.faults, k)
			}
			return m
		}
	}
	return Pass
}

// Set makes requests for op (an operation such as "PutItem", or a service
// prefix such as "secretsmanager") meet mode; Pass clears it.
func (p *Proxy) Set(op string, mode Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mode == Pass {
		delete(p.faults, op)
	} else {
		p.faults[op] = mode
	}
}

// Count is how many requests for op (matched as in Set) the proxy saw.
func (p *Proxy) Count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for target, c := range p.seen {
		if strings.HasPrefix(target, op) || strings.HasSuffix(target, "."+op) {
			n += c
		}
	}
	return n
}

// Package faultproxy is a proxy for tests that stands between an AWS SDK
// client and an emulator (moto_server) and injects faults per operation:
// dropped connections, throttling, 5xx, hangs, and writes whose answer is
// lost after the emulator applied them.
//
// An operation is named as its protocol tells it. The JSON protocols
// (DynamoDB, KMS, Secrets Manager) name it in X-Amz-Target
// ("DynamoDB_20120810.PutItem", "secretsmanager.GetSecretValue"); the
// others are named "<service>.<Operation>", the service being the signing
// name in the Authorization header's credential scope: the Query
// protocol's Action ("sns.Publish"), or a REST route's operation where the
// proxy knows the route ("ses.SendEmail" for SES v2's POST
// /v2/email/outbound-emails), else "<service>.<METHOD> <path>". Faults are
// answered in the request's protocol, so the SDK reads the error code it
// would read from AWS.
package faultproxy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"log"
	"maps"
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
	Pass Mode = ""
	Down Mode = "down" // the connection is dropped before the emulator sees the request
	// Throttle is the service's throttling error: DynamoDB's
	// ThrottlingException for the JSON protocols, Throttling (400) for the
	// Query protocol, TooManyRequestsException (429) for REST.
	Throttle Mode = "throttle"
	// Fail5xx is a 500: InternalServerError for the JSON protocols,
	// InternalError for the Query protocol, InternalFailure for REST.
	Fail5xx Mode = "5xx"
	Hang    Mode = "hang" // no answer until the caller gives up
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
// errors), in the request's protocol: AccessDeniedException,
// DecryptionFailure, MessageRejected, AuthorizationError, and so on.
func Code(code string) Mode { return Mode("code:" + code) }

// Proxy is a running fault proxy. Point the SDK at URL.
type Proxy struct {
	*httptest.Server
	mu     sync.Mutex
	faults map[string]Mode // operation suffix or service prefix -> mode
	seen   map[string]int  // operation (see the package comment) -> requests
	delay  time.Duration   // added to every request
	stop   chan struct{}
	record []string   // operations (matched as in Set) whose exchanges are kept
	kept   []Exchange // in the order the emulator answered them
	holds  []*hold    // waiting for requests to hold (HoldAnswers)
}

// holdLimit bounds how long HoldAnswers holds an answer when fewer
// requests than it waits for come.
const holdLimit = 10 * time.Second

// hold is a HoldAnswers in progress.
type hold struct {
	op, sub  string
	n        int           // requests to hold
	claimed  int           // requests held so far
	answered int           // of them, answered by the emulator
	release  chan struct{} // closed when all n are answered
}

// HoldAnswers makes the next n requests for op (matched as in Set) whose
// body contains sub reach the emulator as usual, but holds each answer
// until the emulator has answered all n: n callers that read side by side
// all read the state from before any of them goes on to write, the
// interleaving a race needs, every time. (After 10 s without the n-th
// request, the answers go.)
func (p *Proxy) HoldAnswers(op, sub string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holds = append(p.holds, &hold{op: op, sub: sub, n: n, release: make(chan struct{})})
}

// claimHold returns the hold that takes the request for op with body, if
// any.
func (p *Proxy) claimHold(op string, body []byte) *hold {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, h := range p.holds {
		if matches(op, h.op) && bytes.Contains(body, []byte(h.sub)) {
			h.claimed++
			if h.claimed == h.n {
				p.holds = append(p.holds[:i:i], p.holds[i+1:]...)
			}
			return h
		}
	}
	return nil
}

// answered counts an answer of h's and lets them all go at the n-th.
func (p *Proxy) answered(h *hold) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h.answered++
	if h.answered == h.n {
		close(h.release)
	}
}

// wants reports whether the proxy needs the body of a request for op
// (to record it, or to match a hold).
func (p *Proxy) wants(op string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.holds {
		if matches(op, h.op) {
			return true
		}
	}
	for _, k := range p.record {
		if matches(op, k) {
			return true
		}
	}
	return false
}

// Exchange is a request the proxy forwarded to the emulator, kept by
// Record: the operation (see the package comment), the request's body,
// and the emulator's status (whether or not the caller got the answer).
type Exchange struct {
	Op     string
	Body   []byte
	Status int
}

// Record makes the proxy keep every request for op (matched as in Set)
// that reaches the emulator, with the emulator's status; Recorded returns
// them. It is what the emulator received: a message moto accepted, say,
// read without asking moto for its whole state.
func (p *Proxy) Record(op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.record = append(p.record, op)
}

// Recorded returns the exchanges kept for op (matched as in Set), oldest
// first.
func (p *Proxy) Recorded(op string) []Exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Exchange
	for _, x := range p.kept {
		if matches(x.Op, op) {
			out = append(out, x)
		}
	}
	return out
}

// recording reports whether op's exchanges are kept.
func (p *Proxy) recording(op string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range p.record {
		if matches(op, k) {
			return true
		}
	}
	return false
}

func (p *Proxy) keep(x Exchange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kept = append(p.kept, x)
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
		op, proto := operation(r)
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
			proto.fail(w, 400, code, "injected "+code)
			return
		}
		switch m {
		case Down:
			drop(w)
		case Throttle:
			switch proto {
			case protoQuery:
				proto.fail(w, 400, "Throttling", "Rate exceeded")
			case protoREST:
				proto.fail(w, 429, "TooManyRequestsException", "Rate exceeded")
			default:
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(400)
				io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)
			}
		case Fail5xx:
			switch proto {
			case protoQuery:
				proto.fail(w, 500, "InternalError", "injected")
			case protoREST:
				proto.fail(w, 500, "InternalFailure", "injected")
			default:
				proto.fail(w, 500, "InternalServerError", "injected")
			}
		case Hang:
			// Reading the body lets the server notice the client leaving.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-p.stop:
			}
		case LoseAnswerOnce, LoseAnswer:
			rec := httptest.NewRecorder()
			p.forward(rp, rec, r, op)
			drop(w)
		default:
			p.pass(rp, w, r, op)
		}
	}))
	tb.Cleanup(p.Close)
	tb.Cleanup(func() { close(p.stop) }) // runs first: frees hung handlers so Close can finish
	return p
}

// pass forwards r, holding its answer if a HoldAnswers takes it.
func (p *Proxy) pass(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request, op string) {
	if !p.wants(op) {
		rp.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the caller is gone
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := p.claimHold(op, body)
	if h == nil {
		p.forward(rp, w, r, op)
		return
	}
	rec := httptest.NewRecorder()
	p.forward(rp, rec, r, op)
	p.answered(h)
	select {
	case <-h.release:
	case <-r.Context().Done():
		return
	case <-p.stop:
	case <-time.After(holdLimit):
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// forward sends r to the emulator through rp and its answer to w,
// keeping the exchange if op is recorded.
func (p *Proxy) forward(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request, op string) {
	if !p.recording(op) {
		rp.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the caller is gone
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w}
	rp.ServeHTTP(sw, r)
	p.keep(Exchange{Op: op, Body: body, Status: sw.status})
}

// statusWriter notes the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// protocol is how a request's service frames its calls and errors.
type protocol int

const (
	protoJSON  protocol = iota // awsJson1_0/1_1: X-Amz-Target, {"__type": …}
	protoQuery                 // awsQuery: Action in a form body, XML errors
	protoREST                  // restJson1: the route names it, X-Amzn-ErrorType
)

// restOps name the REST routes the proxy knows, by service, method and
// path.
var restOps = map[string]string{
	"ses POST /v2/email/outbound-emails": "SendEmail",
}

// operation names r's operation (see the package comment) and its
// protocol. A Query request's body is read and put back.
func operation(r *http.Request) (string, protocol) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t, protoJSON
	}
	service := signingName(r.Header.Get("Authorization"))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, perr := url.ParseQuery(string(body)); err == nil && perr == nil && form.Get("Action") != "" {
			return service + "." + form.Get("Action"), protoQuery
		}
	}
	route := r.Method + " " + r.URL.Path
	if op, ok := restOps[service+" "+route]; ok {
		return service + "." + op, protoREST
	}
	return service + "." + route, protoREST
}

// signingName is the service in a SigV4 Authorization header's credential
// scope (Credential=<key>/<date>/<region>/<service>/aws4_request), or "".
func signingName(authorization string) string {
	_, cred, ok := strings.Cut(authorization, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// fail answers an AWS error with code and message, framed as proto's
// service frames it.
func (proto protocol) fail(w http.ResponseWriter, status int, code, message string) {
	switch proto {
	case protoQuery:
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		var b bytes.Buffer
		b.WriteString(`<ErrorResponse><Error><Type>` + kind + `</Type><Code>`)
		xml.EscapeText(&b, []byte(code))
		b.WriteString(`</Code><Message>`)
		xml.EscapeText(&b, []byte(message))
		b.WriteString(`</Message></Error><RequestId>faultproxy</RequestId></ErrorResponse>`)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		w.Write(b.Bytes())
	case protoREST:
		body, _ := json.Marshal(map[string]string{"message": message})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		w.Write(body)
	default:
		body, _ := json.Marshal(map[string]string{"__type": code, "message": message})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		w.Write(body)
	}
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
		if matches(op, k) {
			if m == LoseAnswerOnce {
				delete(p.faults, k)
			}
			return m
		}
	}
	return Pass
}

// Set makes requests for op (an operation such as "PutItem", "Publish" or
// "SendEmail", or a service prefix such as "secretsmanager" or "sns")
// meet mode; Pass clears it.
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
		if matches(target, op) {
			n += c
		}
	}
	return n
}

// matches reports whether the operation op is what k names: an operation
// ("PutItem" matches "DynamoDB_20120810.PutItem", "Publish" matches
// "sns.Publish") or a service prefix ("secretsmanager", "sns").
func matches(op, k string) bool {
	return strings.HasPrefix(op, k) || strings.HasSuffix(op, "."+k)
}

// Package sumsubtest is a fake Sumsub API for tests. It checks every
// request's app token, timestamp and signature exactly as Sumsub does and
// answers like Sumsub, so a signing bug fails the test that made it. It
// serves the hosted link and the SDK token, and (applicants.go) the
// API-driven review: applicants, their documents, a company's
// beneficiaries and review requests.
package sumsubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// Paths of the two calls.
const (
	LinkPath  = "/resources/sdkIntegrations/levels/-/websdkLink"
	TokenPath = "/resources/accessTokens/sdk"
)

// MaxSkew is how far a request's timestamp may be from the server's clock.
const MaxSkew = 60 * time.Second

// Request is one accepted call, as the server decoded it: Path is
// unescaped, Body is the JSON body (for a document upload, its metadata
// part; nil for none).
type Request struct {
	Method string
	Path   string
	Body   map[string]any
}

// Server is a fake Sumsub. Set Fail to make it answer errors.
type Server struct {
	*httptest.Server
	Creds sumsub.Credentials

	mu       sync.Mutex
	accepted []Request
	rejected int
	warmups  int
	// Fail, when set, answers an accepted (correctly signed) request instead
	// of the normal answer. Return false to answer normally.
	fail func(w http.ResponseWriter, r *http.Request) bool
	// Delay holds every answer for this long (or until the client gives up).
	delay time.Duration
	// The applicants, their documents and the faults to inject into the
	// API-driven review (applicants.go).
	api applicantsState
}

// NewServer starts a fake Sumsub that accepts creds.
func NewServer(creds sumsub.Credentials) *Server {
	s := &Server{Creds: creds}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetFail installs a failure hook (nil removes it).
func (s *Server) SetFail(f func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

// SetDelay makes every answer wait d.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Accepted returns the correctly signed requests so far.
func (s *Server) Accepted() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.accepted...)
}

// Count returns how many correctly signed requests reached path.
func (s *Server) Count(path string) int {
	n := 0
	for _, r := range s.Accepted() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// Rejected returns how many requests failed authentication.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// WriteError answers like Sumsub does.
func WriteError(w http.ResponseWriter, status, errorCode int, description string) {
	WriteErrorNamed(w, status, errorCode, "fake-sumsub-error", description)
}

// WriteErrorNamed answers like Sumsub does, with Sumsub's errorName for
// errorCode (e.g. 1004, "corrupted-file").
func WriteErrorNamed(w http.ResponseWriter, status, errorCode int, errorName, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"description":   description,
		"code":          status,
		"correlationId": rand.Text(),
		"errorCode":     errorCode,
		"errorName":     errorName,
	})
}

// Warmups returns how many requests for "/" (connection warm-ups) arrived.
func (s *Server) Warmups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.warmups
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		// The site root is no API resource: it answers unsigned requests,
		// which is what a connection warm-up sends.
		s.mu.Lock()
		s.warmups++
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		WriteError(w, http.StatusBadRequest, 1000, "unreadable body")
		return
	}
	if reason := s.authenticate(r, body); reason != "" {
		s.mu.Lock()
		s.rejected++
		s.mu.Unlock()
		WriteError(w, http.StatusUnauthorized, 4003, reason)
		return
	}
	if r.URL.Path == ApplicantsPath || strings.HasPrefix(r.URL.Path, ApplicantsPath+"/") {
		s.serveApplicants(w, r, body)
		return
	}
	if r.Method != http.MethodPost || (r.URL.Path != LinkPath && r.URL.Path != TokenPath) {
		WriteError(w, http.StatusNotFound, 1001, "not found")
		return
	}
	var in map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		WriteError(w, http.StatusBadRequest, 1002, "body is not JSON")
		return
	}
	if reason := validate(r.URL.Path, in); reason != "" {
		WriteError(w, http.StatusBadRequest, 1002, reason)
		return
	}
	if !s.accept(w, r, in) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == LinkPath {
		json.NewEncoder(w).Encode(map[string]string{"url": s.URL + "/websdk/p/" + rand.Text()})
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"token": "_act-sbx-jwt-" + rand.Text(), "userId": in["userId"].(string)})
}

// authenticate returns why the request would be refused, or "".
func (s *Server) authenticate(r *http.Request, body []byte) string {
	if r.Header.Get("X-App-Token") != s.Creds.AppToken {
		return "App token is missing or unknown"
	}
	ts := r.Header.Get("X-App-Access-Ts")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "X-App-Access-Ts is not a Unix time in seconds"
	}
	if d := time.Since(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return "Request timestamp is too far from server time"
	}
	want := sumsub.Sign(s.Creds.SecretKey, ts, r.Method, r.RequestURI, body)
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-App-Access-Sig"))) {
		return "App-token-signature mismatch"
	}
	return ""
}

func validate(path string, in map[string]any) string {
	for _, f := range []string{"levelName", "userId"} {
		if v, _ := in[f].(string); v == "" {
			return fmt.Sprintf("%s is required", f)
		}
	}
	if n, ok := in["ttlInSecs"].(json.Number); ok {
		if v, err := n.Int64(); err != nil || v <= 0 {
			return "ttlInSecs must be a positive integer"
		}
	}
	if _, ok := in["redirect"]; ok && path != LinkPath {
		return "redirect is not accepted here"
	}
	return ""
}

// accept records a request the fake takes (body as recorded), then plays
// the delay and the failure the test set; false when the request is
// answered already (failed, or its context ended).
func (s *Server) accept(w http.ResponseWriter, r *http.Request, body map[string]any) bool {
	s.mu.Lock()
	s.accepted = append(s.accepted, Request{Method: r.Method, Path: r.URL.Path, Body: body})
	fail, delay := s.fail, s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return false
		}
	}
	return fail == nil || !fail(w, r)
}

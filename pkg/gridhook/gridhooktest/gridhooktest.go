// Package gridhooktest is a fake platform that receives Grid webhooks and
// checks them as a platform does: the X-Grid-Signature against the pinned
// public key, and the webhook id for duplicates (409, as Grid specifies).
package gridhooktest

import (
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
)

// Received is one accepted webhook.
type Received struct {
	Envelope gridhook.Envelope
	Body     []byte
}

// Platform is a running fake platform.
type Platform struct {
	*httptest.Server
	Key *ecdsa.PublicKey

	mu       sync.Mutex
	lastID   string
	received []Received
	seen     map[string]bool
	attempts map[string]int
	rejected int
	status   int           // when non-zero, every request is answered with it
	delay    time.Duration // before answering
}

// New starts a platform that trusts key.
func New(key *ecdsa.PublicKey) *Platform {
	p := &Platform{Key: key, seen: map[string]bool{}, attempts: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// SetStatus makes the platform answer every webhook with status (0: normal).
func (p *Platform) SetStatus(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = status
}

// SetDelay makes the platform wait d before answering.
func (p *Platform) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

func (p *Platform) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	status, delay := p.status, p.delay
	p.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	var env gridhook.Envelope
	if gridhook.Verify(p.Key, r.Header.Get(gridhook.SignatureHeader), body) != nil || json.Unmarshal(body, &env) != nil || env.ID == "" {
		p.mu.Lock()
		p.rejected++
		p.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts[env.ID]++
	p.lastID = env.ID
	switch {
	case status != 0:
		w.WriteHeader(status)
	case p.seen[env.ID]:
		w.WriteHeader(http.StatusConflict) // a duplicate: Grid retries no further
	default:
		p.seen[env.ID] = true
		p.received = append(p.received, Received{Envelope: env, Body: body})
		w.WriteHeader(http.StatusOK)
	}
}

// Received returns the webhooks accepted so far, each once.
func (p *Platform) Received() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Received(nil), p.received...)
}

// Attempts is how many correctly signed deliveries of id arrived.
func (p *Platform) Attempts(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts[id]
}

// LastID is the id of the last correctly signed delivery.
func (p *Platform) LastID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastID
}

// Rejected is how many requests failed the signature check.
func (p *Platform) Rejected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rejected
}

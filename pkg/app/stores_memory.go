package app

import (
	"crypto/rand"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// newMemoryStores makes the memory backend's stores from the seed: one
// customers map that the link, the reviews and the platform API share (a
// customer created through the API gets links and decisions), the seed's
// platforms (a platform without a webhook URL gets the inbox), and the
// in-process delivery that stands in for the outbox, the queue and the
// delivery function: each notice recorded with a change goes straight to
// it.
func newMemoryStores(r *root) (*stores, error) {
	urls := map[string]string{}
	for _, p := range r.seed.Platforms {
		urls[p.ID] = p.WebhookURL
		if p.WebhookURL == "" {
			urls[p.ID] = strings.TrimRight(r.cfg.PublicURL, "/") + sandbox.InboxPrefix + p.ID
		}
	}
	customers := memstore.NewCustomers(r.seed.customers()...)
	platforms := memstore.NewPlatforms(urls)
	// Documents' files: under DOCUMENTS_DIR when set (make run: on disk,
	// readable by its user only, where they can be looked at and cost no
	// memory), else in memory (tests).
	// Direct uploads post to make run's signed local receiver (its key
	// lives in this process), or in tests straight to memory.
	mem := &memstore.Files{}
	var files kyc.DocumentFiles = mem
	var direct kyc.DirectFiles = mem
	if r.cfg.DocumentsDir != "" {
		dir := memstore.DirFiles{Dir: r.cfg.DocumentsDir}
		files = dir
		direct = &sandbox.LocalUploads{BaseURL: strings.TrimRight(r.cfg.PublicURL, "/"), Key: randomKey(), Files: dir, Now: time.Now}
	}
	st := &stores{
		customers:     customers,
		platforms:     platforms,
		documents:     customers,
		verifications: customers,
		files:         files,
		direct:        direct,
		uploads:       customers,
		counters:      &memstore.RateCounters{},
		idempotency:   memstore.NewIdempotency(),
		sealer:        memstore.NewSealer(),
		deadLetters:   &memstore.DeadLetters{},
		contactCodes:  &memstore.ContactCodes{},
		memCustomers:  customers,
	}
	q := &webhooks.MemoryQueue{Context: r.ctx, Deliverer: r.deliverer(platforms), Policy: r.policy(), DeadLetters: st.deadLetters,
		AttemptTimeout: r.cfg.WebhookAttemptTimeout, Now: time.Now, Logger: r.logger}
	customers.Outbox = q.Enqueue
	return st, nil
}

// randomKey is a fresh 32-byte key that lives in this process only.
func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand)
	return k
}

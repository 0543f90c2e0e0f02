package app

import (
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
	var files kyc.DocumentFiles = &memstore.Files{}
	if r.cfg.DocumentsDir != "" {
		files = memstore.DirFiles{Dir: r.cfg.DocumentsDir}
	}
	st := &stores{
		customers:     customers,
		platforms:     platforms,
		documents:     customers,
		verifications: customers,
		files:         files,
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

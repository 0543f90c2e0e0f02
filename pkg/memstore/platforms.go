package memstore

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// Platforms keeps platforms' configuration in memory. It is also where
// webhook delivery finds a platform's URL (webhooks.Platforms), as the
// platforms table is in DynamoDB.
type Platforms struct {
	mu sync.RWMutex
	m  map[string]kyc.PlatformConfig
}

var (
	_ kyc.PlatformStore  = (*Platforms)(nil)
	_ webhooks.Platforms = (*Platforms)(nil)
)

// NewPlatforms returns a store holding webhook URLs by platform id (as
// the platforms table does), each configured now: its createdAt and
// updatedAt, as every answer of GET and PATCH /config carries them.
func NewPlatforms(webhookURLs map[string]string) *Platforms {
	p := &Platforms{m: map[string]kyc.PlatformConfig{}}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for id, u := range webhookURLs {
		p.m[id] = kyc.PlatformConfig{PlatformID: id, WebhookEndpoint: u, CreatedAt: now, UpdatedAt: now}
	}
	return p
}

func (p *Platforms) PlatformConfig(_ context.Context, platformID string) (kyc.PlatformConfig, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c := p.m[platformID]
	c.PlatformID = platformID
	return c, nil
}

func (p *Platforms) SetWebhookEndpoint(_ context.Context, platformID, endpoint string, at time.Time) (kyc.PlatformConfig, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.m[platformID]
	c.PlatformID = platformID
	if c.WebhookEndpoint == endpoint {
		return c, false, nil // nothing written: updatedAt stays
	}
	c.WebhookEndpoint, c.UpdatedAt = endpoint, at
	if c.CreatedAt.IsZero() {
		c.CreatedAt = at
	}
	p.m[platformID] = c
	return c, true, nil
}

func (p *Platforms) WebhookURL(_ context.Context, platformID string) (string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.m[platformID].WebhookEndpoint, nil
}

// RandomKey returns a cursor key (kyc.Customers.CursorKey) made at random
// once: cursors stay valid for the life of the process.
func RandomKey() func(context.Context) ([]byte, error) {
	key := make([]byte, 32)
	rand.Read(key)
	return func(context.Context) ([]byte, error) { return key, nil }
}

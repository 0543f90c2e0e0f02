package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// countingRecords counts the memory store's range reads.
type countingRecords struct {
	*memstore.Customers
	ranges atomic.Int64
}

func (c *countingRecords) CustomerRange(ctx context.Context, q kyc.RangeQuery) ([]kyc.Customer, bool, error) {
	c.ranges.Add(1)
	return c.Customers.CustomerRange(ctx, q)
}

func TestMemoryCustomers(t *testing.T) {
	CustomerRecords(t, func(t *testing.T) Env {
		m := memstore.NewCustomers()
		c := &countingRecords{Customers: m}
		return Env{Records: c, Links: m, Reviews: m, Sealer: memstore.NewSealer(),
			Stored: func(t *testing.T, id string) []string {
				r, err := m.CustomerRecord(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				// Everything the record holds, bytes as text too.
				return []string{fmt.Sprintf("%+v", r), fmt.Sprintf("%+v %+v", r.Address, r.BusinessInfo),
					string(r.IdentifierSealed), string(r.TaxIDSealed), r.Email}
			},
			RangeReads: c.ranges.Load, Scans: func() int64 { return 0 }}
	})
}

// TestMemoryReviews runs the review suite on memstore.Customers, which
// make run shares with the link route and the platform API.
func TestMemoryReviews(t *testing.T) {
	Reviews(t, func(t *testing.T, cs ...kyc.Customer) ReviewEnv {
		var mu sync.Mutex
		var got []kyc.Notice
		m := memstore.NewCustomers(cs...)
		m.Outbox = func(n kyc.Notice) { mu.Lock(); got = append(got, n); mu.Unlock() }
		return ReviewEnv{Store: m,
			Notices: func(*testing.T) []kyc.Notice { mu.Lock(); defer mu.Unlock(); return append([]kyc.Notice(nil), got...) }}
	})
}

func TestMemoryPlatforms(t *testing.T) {
	PlatformStore(t, func(t *testing.T) (kyc.PlatformStore, webhooks.Platforms) {
		p := memstore.NewPlatforms(nil)
		return p, p
	})
}

func TestMemorySealer(t *testing.T) {
	s := memstore.NewSealer()
	Sealer(t, s, s.Open)
}

func TestMemoryContactCodes(t *testing.T) {
	ContactCodes(t, func(*testing.T) kyc.ContactCodes { return &memstore.ContactCodes{} })
}

func TestMemoryDocuments(t *testing.T) {
	DocumentRecords(t, func(*testing.T) kyc.DocumentRecords { return memstore.NewCustomers() })
}

// TestMemoryVerifications runs the verifications suite on
// memstore.Customers, which keeps customers, documents and verifications
// under one lock.
func TestMemoryVerifications(t *testing.T) {
	VerificationRecords(t, func(*testing.T) VerificationEnv {
		var mu sync.Mutex
		var got []kyc.Notice
		m := memstore.NewCustomers()
		m.Outbox = func(n kyc.Notice) { mu.Lock(); got = append(got, n); mu.Unlock() }
		return VerificationEnv{Verifications: m, Documents: m, Customers: m, Reviews: m,
			Notices: func(*testing.T) []kyc.Notice { mu.Lock(); defer mu.Unlock(); return append([]kyc.Notice(nil), got...) }}
	})
}

// TestMemoryOwners runs the owners suite on memstore.Customers.
func TestMemoryOwners(t *testing.T) {
	Owners(t, func(*testing.T) OwnerEnv {
		m := memstore.NewCustomers()
		return OwnerEnv{Customers: m, Owners: m, Reviews: m, Verifications: m,
			Stored: func(t *testing.T, id string) []string {
				r, err := m.CustomerRecord(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				// Everything the record holds, bytes as text too.
				out := []string{fmt.Sprintf("%+v", r)}
				for _, o := range r.Owners {
					out = append(out, o.ID, string(o.IdentifierSealed))
				}
				return out
			}}
	})
}

package memstore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

var seeds = []kyc.Customer{
	{ID: "Customer:1", PlatformID: "p1", Type: kyc.Business, KYBStatus: "PENDING", Email: "a@example.com",
		PhoneNumber: "+14155550100", PlatformCustomerID: "u1", CreatedAt: time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC), LastReviewAt: time.UnixMilli(1_700_000_000_000).UTC(),
		ContactVerification: kyc.ContactVerification{Email: "VERIFIED", Phone: "PENDING"}},
	{ID: "Customer:2", PlatformID: "p1", Type: kyc.Individual, KYCStatus: "UNVERIFIED", PlatformCustomerID: "u2", IsDeleted: true},
	{ID: "Customer:3", PlatformID: "p2"},
}

// TestSeededCustomersReadAsSeeded: the link route reads the seed's
// customers as given.
func TestSeededCustomersReadAsSeeded(t *testing.T) {
	ctx := context.Background()
	m := memstore.NewCustomers(seeds...)
	for _, want := range seeds {
		if got, err := m.FindCustomer(ctx, want.ID); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("FindCustomer(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	if _, err := m.FindCustomer(ctx, "Customer:9"); kyc.AsError(err).Code != kyc.CodeNotFound {
		t.Errorf("FindCustomer(missing) = %v", err)
	}
	// A seeded active customer's platformCustomerId is taken; a deleted
	// one's is free.
	if id, ok, _ := m.ActiveCustomerID(ctx, "p1", "u1"); !ok || id != "Customer:1" {
		t.Errorf("ActiveCustomerID(u1) = %q, %v", id, ok)
	}
	if _, ok, _ := m.ActiveCustomerID(ctx, "p1", "u2"); ok {
		t.Errorf("a deleted customer's platformCustomerId is taken")
	}
	if err := m.InsertCustomer(ctx, kyc.Customer{ID: "Customer:4", PlatformID: "p1", PlatformCustomerID: "u1"}); !errors.Is(err, kyc.ErrPlatformCustomerIDTaken) {
		t.Errorf("insert with a seeded platformCustomerId = %v", err)
	}
}

func TestReviews(t *testing.T) {
	ctx := context.Background()
	var sent []kyc.Notice
	m := memstore.NewCustomers(seeds...)
	m.Outbox = func(n kyc.Notice) { sent = append(sent, n) }
	at := time.UnixMilli(1_800_000_000_000).UTC()
	stale := kyc.Change{CustomerID: "Customer:1", Type: kyc.Business, Status: kyc.StatusApproved, ReviewAt: at, UpdatedAt: at,
		WasStatus: kyc.StatusUnverified, WasReviewAt: seeds[0].LastReviewAt}
	if err := m.ApplyChange(ctx, stale, &kyc.Notice{ID: "Webhook:x"}); !errors.Is(err, kyc.ErrChanged) || len(sent) != 0 {
		t.Fatalf("a change from a stale read = %v, %d notices; want ErrChanged and none", err, len(sent))
	}
	rejected := stale
	rejected.Status, rejected.WasStatus, rejected.RejectType, rejected.RejectLabels = kyc.StatusRejected, kyc.StatusPending, "FINAL", []string{"FORGERY"}
	if err := m.ApplyChange(ctx, rejected, &kyc.Notice{ID: "Webhook:y"}); err != nil || len(sent) != 1 {
		t.Fatalf("ApplyChange = %v, %d notices", err, len(sent))
	}
	c, _ := m.FindCustomer(ctx, "Customer:1")
	if c.KYBStatus != "REJECTED" || !c.LastReviewAt.Equal(at) || !c.UpdatedAt.Equal(at) {
		t.Errorf("after the review: %+v", c)
	}
	if c.RejectType != "FINAL" || len(c.RejectLabels) != 1 {
		t.Errorf("rejection kept = %q %q; want FINAL [FORGERY]", c.RejectType, c.RejectLabels)
	}
	// The platform API's update keeps the review's status.
	rec, _ := m.CustomerRecord(ctx, "Customer:1")
	next := rec
	next.Email, next.KYBStatus, next.Version = "b@example.com", kyc.StatusApproved, rec.Version+1
	if err := m.UpdateCustomer(ctx, rec, next); err != nil {
		t.Fatal(err)
	}
	if c, _ := m.FindCustomer(ctx, "Customer:1"); c.KYBStatus != "REJECTED" || c.Email != "b@example.com" || c.RejectType != "FINAL" {
		t.Errorf("after an update: %+v", c)
	}
	if err := m.UpdateCustomer(ctx, rec, next); !errors.Is(err, kyc.ErrChanged) {
		t.Errorf("an update from a stale read = %v; want ErrChanged", err)
	}
}

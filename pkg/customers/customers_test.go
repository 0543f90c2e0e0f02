package customers_test

import (
	"context"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

var (
	full = kyc.Customer{ID: "Customer:1", PlatformID: "p1", Type: kyc.Business, KYCStatus: "PENDING",
		Email: "a@example.com", PhoneNumber: "+14155550100", PlatformCustomerID: "u1",
		CreatedAt: "2025-10-13T12:00:00.000Z", UpdatedAt: time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC),
		ContactVerification: kyc.ContactVerification{Email: "VERIFIED", Phone: "PENDING"}}
	deleted = kyc.Customer{ID: "Customer:2", PlatformID: "p1", Type: kyc.Individual, KYCStatus: "UNVERIFIED", IsDeleted: true}
	bare    = kyc.Customer{ID: "Customer:3", PlatformID: "p2"}
)

// testStore is the conformance suite both stores pass.
func testStore(t *testing.T, s kyc.CustomerStore) {
	ctx := context.Background()
	for _, want := range []kyc.Customer{full, deleted, bare} {
		got, err := s.FindCustomer(ctx, want.ID)
		if err != nil || got != want {
			t.Errorf("FindCustomer(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	_, err := s.FindCustomer(ctx, "Customer:missing")
	if kyc.AsError(err).Code != kyc.CodeNotFound {
		t.Errorf("FindCustomer(missing) = %v; want USER_NOT_FOUND", err)
	}
}

func TestMemory(t *testing.T) {
	testStore(t, memstore.NewCustomers(full, deleted, bare))
}

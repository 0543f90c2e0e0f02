package kyc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// ownerBody is a complete owner of business with role and share; its
// last name decides its sandbox review.
func ownerBody(business, role string, share int, lastName string) string {
	return fmt.Sprintf(`{"customerId":%q,"roles":[%q],"ownershipPercentage":%d,"personalInfo":{"firstName":"Jane",
  "lastName":%q,"birthDate":"1978-06-15","nationality":"US","email":"jane@acme.com","phoneNumber":"+14155550192",
  "address":{"line1":"1 Main St","city":"Seattle","postalCode":"98101","country":"US"},"idType":"SSN","identifier":"123-45-6789"}}`,
		business, role, share, lastName)
}

// addOwner adds an owner with a passport to business.
func (e *verifyEnv) addOwner(t *testing.T, platform, business, role string, share int, lastName string) kyc.OwnerView {
	t.Helper()
	in, err := kyc.ParseOwnerCreate([]byte(ownerBody(business, role, share, lastName)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.owners.Create(context.Background(), platform, in, "")
	if err != nil {
		t.Fatal(err)
	}
	e.upload(t, platform, o.ID, "PASSPORT", "", pngFile)
	return o
}

// submit submits platform p1's customer id.
func submit(t *testing.T, e *verifyEnv, id string) kyc.VerificationView {
	t.Helper()
	v, err := e.verifications.Submit(context.Background(), "p1", id, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

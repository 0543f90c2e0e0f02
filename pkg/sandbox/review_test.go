package sandbox

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// TestDecisionFor: Grid's sandbox suffixes.
func TestDecisionFor(t *testing.T) {
	for name, want := range map[string]string{
		"Jane Doe 001": Hold, "Jane Doe 002": RejectFinal, "Jane Doe 003": Reject, "Jane Doe": Approve,
		"Acme 004": Approve, "001 Jane": Approve, "": Approve,
	} {
		if got := DecisionFor(name); got != want {
			t.Errorf("DecisionFor(%q) = %q; want %q", name, got, want)
		}
	}
}

// TestKYBDecisions: a business's owners by their last names, first, then
// the business by its registration number (Grid's kyb-sandbox-suffixes).
func TestKYBDecisions(t *testing.T) {
	owner := func(id, last string) kyc.ProviderOwner {
		return kyc.ProviderOwner{Owner: kyc.BeneficialOwner{ID: id, LastName: last}}
	}
	for _, tc := range []struct {
		reg  string
		want []decision
	}{
		{"5523041", []decision{{"BeneficialOwner:a", Approve}, {"BeneficialOwner:c", RejectFinal}, {"Customer:b", Approve}}},
		{"5523001", []decision{{"BeneficialOwner:a", Approve}, {"BeneficialOwner:c", RejectFinal}, {"Customer:b", Hold}}},
		{"5523002", []decision{{"BeneficialOwner:a", Approve}, {"BeneficialOwner:c", RejectFinal}, {"Customer:b", RejectFinal}}},
		{"5523003", []decision{{"BeneficialOwner:a", Approve}, {"BeneficialOwner:c", RejectFinal}, {"Customer:b", Hold}}},
	} {
		s := kyc.ProviderSubmission{
			Customer: kyc.Customer{ID: "Customer:b", Type: kyc.Business, FullName: "Ignored 002",
				BusinessInfo: &kyc.BusinessInfo{LegalName: "Acme 002", RegistrationNumber: tc.reg}},
			Owners: []kyc.ProviderOwner{owner("BeneficialOwner:a", "Roe"), owner("BeneficialOwner:p", "Doe 001"), owner("BeneficialOwner:c", "Poe 002")},
		}
		if diff := cmp.Diff(tc.want, decisionsOf(s), cmp.AllowUnexported(decision{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reg, diff)
		}
	}
	ind := kyc.ProviderSubmission{Customer: kyc.Customer{ID: "Customer:i", FullName: "Jane 003"}}
	if diff := cmp.Diff([]decision{{"Customer:i", Reject}}, decisionsOf(ind), cmp.AllowUnexported(decision{})); diff != "" {
		t.Errorf("individual (-want +got):\n%s", diff)
	}
}

package sandbox

import "testing"

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

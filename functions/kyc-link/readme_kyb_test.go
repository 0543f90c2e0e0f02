//go:build integration

package main_test

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// TestREADMEKYB runs the README's KYB block as written against the binary
// started as make run starts it: the business alone is sent back with
// the structure rules and its missing documents; with a control person,
// a 60 % UBO, their passports and its documents it is IN_PROGRESS, then
// APPROVED with each owner APPROVED; the inbox receives the business's
// VERIFICATION.APPROVED and CUSTOMER.KYB_APPROVED, verified, and shows
// both owners APPROVED.
func TestREADMEKYB(t *testing.T) {
	block := readmeBlock(t, "### A business (KYB): beneficial owners, then the verification")
	if !strings.Contains(block, apiFromEnv) {
		t.Fatalf("the block no longer takes API from the environment:\n%s", block)
	}
	base, logs := start(t, "KYC_SIGNING_KEY_FILE="+filepath.Join(t.TempDir(), "sandbox-signing-key.pem"),
		"DOCUMENTS_DIR="+t.TempDir())
	sh := startShell(t, base)
	out := sh.finish(t, block)
	if len(out) != 4 {
		t.Fatalf("the block printed %d lines; want 4 (the id, the first verification, the second, the owners):\n%s\nstderr:\n%s",
			len(out), strings.Join(out, "\n"), sh.stderr)
	}
	id := out[0]
	type verification struct {
		ID, CustomerID, VerificationStatus string
		Errors                             []struct{ ResourceID, Type, Field string }
	}
	first := decodeLine[verification](t, out[1])
	var kinds []string
	for _, e := range first.Errors {
		if e.ResourceID != id {
			t.Errorf("the first submission names %s", e.ResourceID)
		}
		kinds = append(kinds, e.Type)
	}
	if want := []string{"MISSING_LEGAL_PRESENCE_DOCUMENT", "MISSING_OWNERSHIP_STRUCTURE_DOCUMENT", "MISSING_CONTROL_STRUCTURE_DOCUMENT",
		"MISSING_PROOF_OF_ADDRESS_DOCUMENT", "MISSING_CONTROL_PERSON", "MISSING_BENEFICIAL_OWNER"}; first.VerificationStatus != "RESOLVE_ERRORS" || !slices.Equal(kinds, want) {
		t.Errorf("the first submission printed %s; want RESOLVE_ERRORS with %v", out[1], want)
	}
	if second := decodeLine[verification](t, out[2]); second.VerificationStatus != "IN_PROGRESS" || len(second.Errors) != 0 {
		t.Errorf("the second submission printed %s; want IN_PROGRESS without errors", out[2])
	}
	owners := decodeLine[struct {
		Data []struct {
			ID, CustomerID, KycStatus string
			Roles                     []string
			OwnershipPercentage       int
			PersonalInfo              map[string]any
		}
		TotalCount int
	}](t, out[3])
	if len(owners.Data) != 2 || owners.TotalCount != 2 {
		t.Fatalf("the owners printed %s", out[3])
	}
	for i, want := range []struct {
		role  string
		share int
	}{{"CONTROL_PERSON", 0}, {"UBO", 60}} {
		o := owners.Data[i]
		if o.CustomerID != id || o.KycStatus != "APPROVED" || !slices.Equal(o.Roles, []string{want.role}) || o.OwnershipPercentage != want.share {
			t.Errorf("owner %d: %+v", i, o)
		}
		if _, ok := o.PersonalInfo["identifier"]; ok {
			t.Errorf("owner %d's answer carries its identifier", i)
		}
	}
	var hooks []inboxHook
	eventually(t, 30*time.Second, "the inbox to receive the business's decision", func() bool {
		hooks = readInboxHooks(t, base)
		return len(hooksOf(hooks, id, "VERIFICATION.APPROVED")) > 0 && len(hooksOf(hooks, id, "CUSTOMER.KYB_APPROVED")) > 0
	})
	for _, h := range hooks {
		if !h.verified {
			t.Errorf("the inbox did not verify %+v", h)
		}
	}
	// The inbox shows both owners with their status.
	resp, err := http.Get(base + sandbox.InboxPrefix)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	shown := regexp.MustCompile(`data-owner="([^"]+)" data-status="([^"]+)"`).FindAllStringSubmatch(string(page), -1)
	approved := map[string]bool{}
	for _, m := range shown {
		approved[m[1]] = m[2] == "APPROVED"
	}
	for _, o := range owners.Data {
		if !approved[o.ID] {
			t.Errorf("the inbox does not show owner %s APPROVED: %v", o.ID, shown)
		}
	}
	// No owner's personal data reached the log.
	for _, secret := range []string{"111-22-3334", "111-22-3335", "Jane", "Roe", "1978-06-15", "1 Main St"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log carries %q", secret)
		}
	}
}

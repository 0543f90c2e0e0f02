//go:build integration

package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestREADMEVerificationThroughTheAPI runs the README's "Verification
// through the API" block as written against the binary started as make
// run starts it: the first submission lists exactly what is missing, the
// upload answers the Document, the second submission is IN_PROGRESS, the
// sandbox approves it, and the inbox receives each VERIFICATION.* and
// CUSTOMER.* webhook, verified.
func TestREADMEVerificationThroughTheAPI(t *testing.T) {
	block := readmeBlock(t, "### Verification through the API: documents and verifications")
	if !strings.Contains(block, apiFromEnv) {
		t.Fatalf("the block no longer takes API from the environment:\n%s", block)
	}
	base, _ := start(t, "KYC_SIGNING_KEY_FILE="+filepath.Join(t.TempDir(), "sandbox-signing-key.pem"),
		"DOCUMENTS_DIR="+t.TempDir())
	sh := startShell(t, base)
	out := sh.finish(t, block)
	if len(out) != 5 {
		t.Fatalf("the block printed %d lines; want 5 (the id, the first verification, the document, the second, the history):\n%s\nstderr:\n%s",
			len(out), strings.Join(out, "\n"), sh.stderr)
	}
	id := out[0]
	type verification struct {
		ID, CustomerID, VerificationStatus string
		Errors                             []struct{ Type, Field string }
	}
	first := decodeLine[verification](t, out[1])
	var kinds []string
	for _, e := range first.Errors {
		kinds = append(kinds, e.Type+":"+e.Field)
	}
	if first.VerificationStatus != "RESOLVE_ERRORS" || first.CustomerID != id || strings.Join(kinds, " ") !=
		"MISSING_FIELD:customer.idType MISSING_FIELD:customer.identifier MISSING_FIELD:customer.address MISSING_IDENTITY_DOCUMENT:" {
		t.Errorf("the first submission printed %s; want exactly what the README lists", out[1])
	}
	doc := decodeLine[struct{ ID, DocumentHolder, DocumentType, FileName string }](t, out[2])
	if !strings.HasPrefix(doc.ID, "Document:") || doc.DocumentHolder != id || doc.DocumentType != "PASSPORT" || doc.FileName != "passport.png" {
		t.Errorf("the upload printed %s", out[2])
	}
	second := decodeLine[verification](t, out[3])
	if second.VerificationStatus != "IN_PROGRESS" || len(second.Errors) != 0 {
		t.Errorf("the second submission printed %s; want IN_PROGRESS without errors", out[3])
	}
	history := decodeLine[struct{ Data []verification }](t, out[4])
	if len(history.Data) != 2 || history.Data[0].VerificationStatus != "RESOLVE_ERRORS" || history.Data[1].VerificationStatus != "APPROVED" {
		t.Errorf("the history printed %s; want RESOLVE_ERRORS, then APPROVED", out[4])
	}
	want := []string{"VERIFICATION.RESOLVE_ERRORS", "VERIFICATION.IN_PROGRESS", "CUSTOMER.KYC_PENDING", "VERIFICATION.APPROVED", "CUSTOMER.KYC_APPROVED"}
	var hooks []inboxHook
	eventually(t, 30*time.Second, "the inbox to receive the journey's webhooks", func() bool {
		hooks = readInboxHooks(t, base)
		for _, typ := range want {
			if len(hooksOf(hooks, id, typ)) == 0 {
				return false
			}
		}
		return true
	})
	for _, h := range hooks {
		if !h.verified {
			t.Errorf("the inbox did not verify %+v", h)
		}
	}
}

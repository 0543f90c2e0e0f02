package contract

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestVerificationOperations: Grid's document and verification operations
// and the direct uploads are where the handlers will look for them, each
// declares the answers every route gives, and only the direct uploads are
// marked as this service's extension.
func TestVerificationOperations(t *testing.T) {
	doc, err := Doc()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		method, path string
		extension    bool
	}{
		"uploadDocument":         {"POST", DocumentsPath, false},
		"listDocuments":          {"GET", DocumentsPath, false},
		"getDocument":            {"GET", DocumentPath, false},
		"replaceDocument":        {"PUT", DocumentPath, false},
		"deleteDocument":         {"DELETE", DocumentPath, false},
		"createVerification":     {"POST", VerificationsPath, false},
		"listVerifications":      {"GET", VerificationsPath, false},
		"getVerification":        {"GET", VerificationPath, false},
		"createDocumentUpload":   {"POST", DocumentUploadsPath, true},
		"completeDocumentUpload": {"POST", DocumentUploadCompletePath, true},
	}
	for id, w := range want {
		item := doc.Paths.Value(w.path)
		if item == nil || item.GetOperation(w.method) == nil || item.GetOperation(w.method).OperationID != id {
			t.Errorf("no operation %s at %s %s", id, w.method, w.path)
			continue
		}
		op := item.GetOperation(w.method)
		for _, status := range []string{"401", "404", "405", "429", "500", "503"} {
			if op.Responses.Value(status) == nil {
				t.Errorf("%s declares no %s", id, status)
			}
		}
		if got := op.Extensions["x-kyc-link-extension"] == true; got != w.extension {
			t.Errorf("%s: x-kyc-link-extension %v, want %v", id, got, w.extension)
		}
		if w.extension && !strings.Contains(op.Description, "not in Grid") {
			t.Errorf("%s: the description does not say it is not in Grid", id)
		}
	}
	if doc.Webhooks["verificationUpdate"] == nil {
		t.Error("no webhooks.verificationUpdate")
	}
}

type answer struct {
	method, path string
	status       int
	header       http.Header
	body         string
}

func checkAnswers(t *testing.T, good, bad []answer) {
	t.Helper()
	for _, g := range good {
		if err := CheckOperation(g.method, g.path, g.status, g.header, []byte(g.body)); err != nil {
			t.Errorf("valid answer refused: %v", err)
		}
	}
	for _, b := range bad {
		if err := CheckOperation(b.method, b.path, b.status, b.header, []byte(b.body)); err == nil {
			t.Errorf("drifted answer accepted: %s %s %d %v %s", b.method, b.path, b.status, b.header, b.body)
		}
	}
}

func headers(kv ...string) http.Header {
	out := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

func gridError(status int, code, details string) string {
	s := `{"status":` + strconv.Itoa(status) + `,"code":"` + code + `","message":"m"`
	if details != "" {
		s += `,"details":` + details
	}
	return s + `}`
}

const document = `{"id":"Document:019542f5-b3e7-1d02-0000-000000000001","documentHolder":"Customer:019542f5-b3e7-1d02-0000-000000000001",` +
	`"documentType":"PASSPORT","side":"FRONT","country":"US","documentNumber":"A12345678","issuingAuthority":"U.S. Department of State",` +
	`"fileName":"passport_scan.pdf","createdAt":"2025-10-03T12:00:00Z","updatedAt":"2025-10-03T12:00:00Z"}`

const upload = `{"id":"DocumentUpload:019542f5-b3e7-1d02-0000-000000000001","documentHolder":"Customer:019542f5-b3e7-1d02-0000-000000000001",` +
	`"url":"https://kyc-documents.s3.amazonaws.com/","fields":{"key":"uploads/p1/x","policy":"eyJ...","x-amz-signature":"abc"},` +
	`"maxFileSize":10485760,"expiresAt":"2025-10-03T12:15:00Z"}`

// TestDocumentsContract: the document routes answer Grid's Document
// (closed, Grid's enums), 404 REFERENCE_NOT_FOUND for a document and
// USER_NOT_FOUND for a holder, the delete 204 with nothing else, and the
// direct uploads their upload and then the same Document.
func TestDocumentsContract(t *testing.T) {
	unavailable := gridError(503, "SERVICE_UNAVAILABLE", `{"requestId":"r-1"}`)
	conflict := func(reason string) string { return gridError(409, "CONFLICT", `{"reason":"`+reason+`"}`) }
	invalid := func(field string) string { return gridError(400, "INVALID_INPUT", `{"field":"`+field+`"}`) }
	good := []answer{
		{"POST", DocumentsPath, 201, headers("X-Request-Id", "r-1"), document},
		{"POST", DocumentsPath, 201, headers("Idempotent-Replayed", "true"), document},
		{"POST", DocumentsPath, 201, headers(), `{"id":"Document:019542f5-b3e7-1d02-0000-000000000002","documentHolder":"Customer:1",` +
			`"documentType":"SELFIE","country":"DE","fileName":"me.jpg","createdAt":"2025-10-03T12:00:00Z"}`},
		{"POST", DocumentsPath, 400, headers(), invalid("file")},
		{"POST", DocumentsPath, 400, headers(), invalid("documentHolder")},
		{"POST", DocumentsPath, 404, headers(), gridError(404, "USER_NOT_FOUND", "")},
		{"POST", DocumentsPath, 409, headers("X-Should-Retry", "false"), conflict("IDEMPOTENCY_KEY_REUSED")},
		{"POST", DocumentsPath, 409, headers("Retry-After", "1", "Retry-After-Ms", "1000"), conflict("IDEMPOTENCY_KEY_IN_USE")},
		{"POST", DocumentsPath, 503, headers("Retry-After", "1"), unavailable},
		{"GET", DocumentsPath, 200, headers(), `{"data":[` + document + `],"hasMore":true,"nextCursor":"c.d"}`},
		{"GET", DocumentsPath, 200, headers(), `{"data":[],"hasMore":false}`},
		{"GET", DocumentsPath, 400, headers(), invalid("limit")},
		{"GET", DocumentPath, 200, headers(), document},
		{"GET", DocumentPath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")},
		{"PUT", DocumentPath, 200, headers(), document},
		{"PUT", DocumentPath, 400, headers(), invalid("documentHolder")},
		{"PUT", DocumentPath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")},
		{"PUT", DocumentPath, 409, headers("X-Should-Retry", "false"), conflict("DOCUMENT_SUBMITTED")},
		{"PUT", DocumentPath, 409, headers("Retry-After", "1"), conflict("CONCURRENT_MODIFICATION")},
		{"DELETE", DocumentPath, 204, http.Header{"X-Request-Id": {"r-1"}}, ``},
		{"DELETE", DocumentPath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")},
		{"DELETE", DocumentPath, 409, headers(), conflict("DOCUMENT_SUBMITTED")},
		{"POST", DocumentUploadsPath, 201, headers("Idempotent-Replayed", "true"), upload},
		{"POST", DocumentUploadsPath, 400, headers(), invalid("documentHolder")},
		{"POST", DocumentUploadsPath, 404, headers(), gridError(404, "USER_NOT_FOUND", "")},
		{"POST", DocumentUploadsPath, 409, headers(), conflict("IDEMPOTENCY_KEY_REUSED")},
		{"POST", DocumentUploadCompletePath, 201, headers(), document},
		{"POST", DocumentUploadCompletePath, 400, headers(), invalid("file")},
		{"POST", DocumentUploadCompletePath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")},
		{"POST", DocumentUploadCompletePath, 503, headers("Retry-After", "2"), unavailable},
	}
	bad := []answer{
		{"POST", DocumentsPath, 200, headers(), document},                                                // Grid's 201
		{"POST", DocumentsPath, 413, headers(), gridError(413, "INVALID_INPUT", "")},                     // the gateway's 413 is PAYLOAD_TOO_LARGE
		{"POST", DocumentsPath, 201, headers(), strings.Replace(document, `"PASSPORT"`, `"ID_CARD"`, 1)}, // Grid's DocumentType
		{"POST", DocumentsPath, 201, headers(), strings.Replace(document, `"FRONT"`, `"LEFT"`, 1)},
		{"POST", DocumentsPath, 201, headers(), strings.Replace(document, `"US"`, `"us"`, 1)},
		{"POST", DocumentsPath, 201, headers(), strings.Replace(document, `"Document:`, `"Doc:`, 1)},
		{"POST", DocumentsPath, 201, headers(), strings.Replace(document, `"fileName":"passport_scan.pdf",`, ``, 1)},
		{"POST", DocumentsPath, 201, headers(), strings.Replace(document, `{`, `{"url":"https://x",`, 1)}, // closed
		{"POST", DocumentsPath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")},
		{"GET", DocumentsPath, 200, headers(), `{"data":[],"hasMore":false,"totalCount":0}`},
		{"GET", DocumentPath, 404, headers(), gridError(404, "USER_NOT_FOUND", "")},
		{"PUT", DocumentPath, 409, headers(), conflict("IDEMPOTENCY_KEY_REUSED")},
		{"PUT", DocumentPath, 409, headers(), gridError(409, "CONFLICT", "")}, // no reason
		{"DELETE", DocumentPath, 204, headers(), ``},                          // a Content-Type
		{"DELETE", DocumentPath, 204, http.Header{}, `{}`},                    // a body
		{"DELETE", DocumentPath, 200, headers(), document},
		{"POST", DocumentUploadsPath, 201, headers(), strings.Replace(upload, `10485760`, `4194304`, 1)},
		{"POST", DocumentUploadsPath, 201, headers(), strings.Replace(upload, `"abc"`, `1`, 1)},
		{"POST", DocumentUploadsPath, 201, headers(), strings.Replace(upload, `"DocumentUpload:`, `"Upload:`, 1)},
		{"POST", DocumentUploadsPath, 201, headers(), strings.Replace(upload, `,"expiresAt":"2025-10-03T12:15:00Z"`, ``, 1)},
		{"POST", DocumentUploadsPath, 200, headers(), upload},
		{"POST", DocumentUploadCompletePath, 200, headers(), document}, // the same 201 every time
		{"POST", DocumentUploadCompletePath, 409, headers(), conflict("UPLOAD_COMPLETED")},
		{"POST", DocumentUploadCompletePath, 503, headers(), gridError(503, "SERVICE_UNAVAILABLE", "")}, // no requestId
	}
	checkAnswers(t, good, bad)
}

const verification = `{"id":"Verification:019542f5-b3e7-1d02-0000-000000000001","customerId":"Customer:019542f5-b3e7-1d02-0000-000000000001",` +
	`"verificationStatus":"RESOLVE_ERRORS","errors":[{"resourceId":"Customer:019542f5-b3e7-1d02-0000-000000000001","type":"MISSING_FIELD",` +
	`"field":"customer.address.line1","reason":"Address line 1 is required"},{"resourceId":"Customer:019542f5-b3e7-1d02-0000-000000000001",` +
	`"type":"MISSING_PROOF_OF_ADDRESS_DOCUMENT","acceptedDocumentTypes":["UTILITY_BILL","BANK_STATEMENT"],"reason":"Proof of address document is required"}],` +
	`"createdAt":"2025-10-03T12:00:00Z","updatedAt":"2025-10-03T12:00:01Z"}`

const inProgress = `{"id":"Verification:019542f5-b3e7-1d02-0000-000000000002","customerId":"Customer:1",` +
	`"verificationStatus":"IN_PROGRESS","errors":[],"createdAt":"2025-10-03T12:00:00Z","updatedAt":"2025-10-03T12:00:00Z"}`

// TestVerificationsContract: POST /verifications answers 200 with Grid's
// Verification, refuses a decided customer with 400 and its reason, and
// its 409 names one of its reasons (the contact channels as the link
// route does).
func TestVerificationsContract(t *testing.T) {
	conflict := func(details string) string { return gridError(409, "CONFLICT", details) }
	good := []answer{
		{"POST", VerificationsPath, 200, headers("X-Request-Id", "r-1"), verification},
		{"POST", VerificationsPath, 200, headers("Idempotent-Replayed", "true"), inProgress},
		{"POST", VerificationsPath, 400, headers(), gridError(400, "INVALID_INPUT", `{"field":"customerId"}`)},
		{"POST", VerificationsPath, 400, headers(), gridError(400, "INVALID_INPUT", `{"reason":"CUSTOMER_APPROVED"}`)},
		{"POST", VerificationsPath, 400, headers(), gridError(400, "INVALID_INPUT", `{"reason":"CUSTOMER_REJECTED"}`)},
		{"POST", VerificationsPath, 404, headers(), gridError(404, "USER_NOT_FOUND", "")},
		{"POST", VerificationsPath, 409, headers("X-Should-Retry", "false"), conflict(`{"reason":"VERIFICATION_IN_PROGRESS"}`)},
		{"POST", VerificationsPath, 409, headers("X-Should-Retry", "false"), conflict(`{"reason":"CONTACT_VERIFICATION_REQUIRED","channels":["email","phone"]}`)},
		{"POST", VerificationsPath, 409, headers("X-Should-Retry", "false"), conflict(`{"reason":"IDEMPOTENCY_KEY_REUSED"}`)},
		{"POST", VerificationsPath, 409, headers("Retry-After", "1"), conflict(`{"reason":"IDEMPOTENCY_KEY_IN_USE"}`)},
		{"POST", VerificationsPath, 409, headers("Retry-After", "1", "Retry-After-Ms", "1000"), conflict(`{"reason":"CONCURRENT_MODIFICATION"}`)},
		{"POST", VerificationsPath, 429, headers("Retry-After", "1"), gridError(429, "RATE_LIMITED", "")},
		{"GET", VerificationsPath, 200, headers(), `{"data":[` + verification + `,` + inProgress + `],"hasMore":true,"nextCursor":"c"}`},
		{"GET", VerificationsPath, 200, headers(), `{"data":[],"hasMore":false}`},
		{"GET", VerificationsPath, 400, headers(), gridError(400, "INVALID_INPUT", `{"field":"verificationStatus"}`)},
		{"GET", VerificationPath, 200, headers(), verification},
		{"GET", VerificationPath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")},
	}
	bad := []answer{
		{"POST", VerificationsPath, 201, headers(), verification}, // Grid's 200
		{"POST", VerificationsPath, 200, headers(), strings.Replace(inProgress, `"IN_PROGRESS"`, `"PENDING"`, 1)},
		{"POST", VerificationsPath, 200, headers(), strings.Replace(inProgress, `"errors":[],`, ``, 1)},
		{"POST", VerificationsPath, 200, headers(), strings.Replace(inProgress, `"Verification:`, `"Customer:`, 1)},
		{"POST", VerificationsPath, 200, headers(), strings.Replace(verification, `"MISSING_FIELD"`, `"MISSING"`, 1)},
		{"POST", VerificationsPath, 200, headers(), strings.Replace(verification, `,"reason":"Address line 1 is required"`, ``, 1)},
		{"POST", VerificationsPath, 200, headers(), strings.Replace(verification, `"UTILITY_BILL"`, `"GAS_BILL"`, 1)},
		{"POST", VerificationsPath, 200, headers(), strings.Replace(inProgress, `{`, `{"kycUrl":"https://x",`, 1)}, // closed
		{"POST", VerificationsPath, 400, headers(), gridError(400, "INVALID_INPUT", `{"reason":"CUSTOMER_PENDING"}`)},
		{"POST", VerificationsPath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")},
		{"POST", VerificationsPath, 409, headers(), conflict(`{"reason":"DOCUMENT_SUBMITTED"}`)},
		{"POST", VerificationsPath, 409, headers(), conflict(`{"reason":"CONTACT_VERIFICATION_REQUIRED","channels":["sms"]}`)},
		{"POST", VerificationsPath, 409, headers(), conflict(``)},
		{"GET", VerificationsPath, 200, headers(), `{"data":[],"hasMore":false,"totalCount":0}`},
		{"GET", VerificationPath, 404, headers(), gridError(404, "USER_NOT_FOUND", "")},
	}
	checkAnswers(t, good, bad)
}

// TestLinkConflictChannels: the link route's 409 still lists only email
// and phone as channels (their schema is shared with POST /verifications).
func TestLinkConflictChannels(t *testing.T) {
	body := func(channels string) []byte {
		return []byte(gridError(409, "CONFLICT", `{"reason":"CONTACT_VERIFICATION_REQUIRED","channels":`+channels+`}`))
	}
	if err := CheckResponse(409, headers("X-Should-Retry", "false"), body(`["phone"]`)); err != nil {
		t.Error(err)
	}
	if err := CheckResponse(409, headers(), body(`["fax"]`)); err == nil {
		t.Error("an unknown channel was accepted")
	}
}

// TestVerificationWebhookContract: VERIFICATION.* webhooks carry Grid's
// Verification as data and one of the five types Grid sends.
func TestVerificationWebhookContract(t *testing.T) {
	hook := `{"id":"Webhook:019542f5-b3e7-1d02-0000-000000000030","type":"VERIFICATION.APPROVED","timestamp":"2025-08-15T14:32:00Z","data":` +
		strings.Replace(inProgress, `"IN_PROGRESS"`, `"APPROVED"`, 1) + `}`
	if err := CheckVerificationWebhook([]byte(hook)); err != nil {
		t.Error(err)
	}
	for _, typ := range []string{"REJECTED", "RESOLVE_ERRORS", "IN_PROGRESS", "PENDING_MANUAL_REVIEW"} {
		if err := CheckVerificationWebhook([]byte(strings.Replace(hook, `"VERIFICATION.APPROVED"`, `"VERIFICATION.`+typ+`"`, 1))); err != nil {
			t.Error(err)
		}
	}
	for _, drift := range []string{
		strings.Replace(hook, `"VERIFICATION.APPROVED"`, `"VERIFICATION.READY_FOR_VERIFICATION"`, 1),
		strings.Replace(hook, `"VERIFICATION.APPROVED"`, `"CUSTOMER.KYC_APPROVED"`, 1),
		strings.Replace(hook, `"errors":[],`, ``, 1),
		strings.Replace(hook, `"Webhook:`, `"Hook:`, 1),
		strings.Replace(hook, `"timestamp"`, `"at"`, 1),
		strings.Replace(hook, `{"id"`, `{"platformId":"p1","id"`, 1),
	} {
		if err := CheckVerificationWebhook([]byte(drift)); err == nil {
			t.Errorf("drifted verification webhook accepted: %s", drift)
		}
	}
	// A customer webhook is not a verification webhook, nor the reverse.
	if err := CheckGridWebhook([]byte(hook)); err == nil {
		t.Error("a verification webhook passed as a customer webhook")
	}
}

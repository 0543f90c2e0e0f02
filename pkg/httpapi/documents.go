package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Grid's document and verification routes (api/openapi.yaml).
const (
	UploadDocumentRoute  = "POST /documents"
	ListDocumentsRoute   = "GET /documents"
	GetDocumentRoute     = "GET /documents/{documentId}"
	ReplaceDocumentRoute = "PUT /documents/{documentId}"
	DeleteDocumentRoute  = "DELETE /documents/{documentId}"

	CreateVerificationRoute = "POST /verifications"
	ListVerificationsRoute  = "GET /verifications"
	GetVerificationRoute    = "GET /verifications/{verificationId}"
)

// InlineFileLimit is the largest file an upload carries in its request
// body: 4 MiB. A synchronous Lambda invocation carries at most 6 MiB of
// event, and API Gateway base64-encodes a binary body (4/3), so the body
// may be at most about 4.5 MiB less the event's own headers and context;
// 4 MiB of file plus InlinePartsAllowance of other parts and multipart
// framing leaves more than 500 KiB for them (docs/documents.md, measured
// by TestInlineLimitFitsALambdaEvent).
const InlineFileLimit = 4 << 20

// InlinePartsAllowance is what an upload's body may carry besides the file.
const InlinePartsAllowance = 64 << 10

// maxTextPart bounds each text part of an upload.
const maxTextPart = 1 << 10

// documentParts are the parts an upload takes (Grid's
// DocumentUploadRequest).
var documentParts = []string{"file", "documentType", "country", "documentHolder", "side", "documentNumber", "issuingAuthority"}

// documentBody is an upload's body rule: multipart, the inline file and
// its parts; a larger body is refused naming the direct upload.
func documentBody() bodyRule {
	return bodyRule{kind: multipartBody, limit: InlineFileLimit + InlinePartsAllowance, tooLarge: func(limit int) error {
		e := kyc.TooLargeForInline(int64(limit), InlineFileLimit)
		e.Message = fmt.Sprintf("The request body is larger than %d bytes; an upload in the request body carries a file of at most %d bytes. "+
			"Upload larger files (up to %d bytes) with POST /document-uploads (a direct upload to storage), then POST /document-uploads/{uploadId}/complete.",
			limit, InlineFileLimit, kyc.MaxDocumentSize)
		return e
	}}
}

// readDocumentForm reads an upload's parts: each known part at most once,
// text parts as UTF-8 of at most maxTextPart bytes, the file whole. A body
// over the route's limit is refused as the route words it.
func readDocumentForm(q *request) (kyc.DocumentInput, kyc.DocumentFile, error) {
	in, f, err := readDocumentParts(q.form, q.r.ContentLength)
	if errors.Is(err, errBodyTooLarge) {
		if q.tooLarge != nil {
			return in, f, q.tooLarge(q.formLimit)
		}
		return in, f, tooLarge(q.formLimit)
	}
	return in, f, err
}

// readDocumentParts reads form's parts; size is the body's declared
// length (-1: unknown), the file's buffer's first size. A read that
// crossed the body's limit is errBodyTooLarge.
func readDocumentParts(form *multipart.Reader, size int64) (kyc.DocumentInput, kyc.DocumentFile, error) {
	var in kyc.DocumentInput
	var f kyc.DocumentFile
	seen := map[string]bool{}
	for {
		p, err := form.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errBodyTooLarge) {
			return in, f, err
		}
		if err != nil {
			return in, f, kyc.InvalidField("body", "The multipart body is malformed; send it as curl -F or a multipart/form-data encoder does.")
		}
		name := p.FormName()
		switch {
		case name == "":
			return in, f, kyc.InvalidField("body", "Every part of the body needs a name (Content-Disposition: form-data; name=…).")
		case !slices.Contains(documentParts, name):
			shown := truncate(name, 64)
			return in, f, kyc.InvalidField(shown, "Unknown part %q; the parts are file, documentType, country, documentHolder, side, documentNumber and issuingAuthority.", shown)
		case seen[name]:
			return in, f, kyc.InvalidField(name, "The part %q appears more than once.", name)
		}
		seen[name] = true
		if name == "file" {
			b, err := readPart(p, size)
			if errors.Is(err, errBodyTooLarge) {
				return in, f, err
			}
			if err != nil {
				return in, f, kyc.InvalidField("body", "The multipart body is malformed; send it as curl -F or a multipart/form-data encoder does.")
			}
			f = kyc.DocumentFile{Name: p.FileName(), Content: b}
			in.FileName = f.Name
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, maxTextPart+1))
		if errors.Is(err, errBodyTooLarge) {
			return in, f, err
		}
		if err != nil {
			return in, f, kyc.InvalidField("body", "The multipart body is malformed; send it as curl -F or a multipart/form-data encoder does.")
		}
		if len(b) > maxTextPart {
			return in, f, kyc.InvalidField(name, "%s is longer than %d bytes.", name, maxTextPart)
		}
		if !utf8.Valid(b) {
			return in, f, kyc.InvalidField(name, "%s is not valid UTF-8.", name)
		}
		*map[string]*string{"documentType": &in.Type, "country": &in.Country, "documentHolder": &in.Holder,
			"side": &in.Side, "documentNumber": &in.Number, "issuingAuthority": &in.IssuingAuthority}[name] = string(b)
	}
	if !seen["file"] {
		return in, f, kyc.InvalidField("file", "The part \"file\" is required: the document as a PDF, JPEG or PNG.")
	}
	return in, f, nil
}

func (p *Platform) uploadDocument(q *request) response {
	in, f, err := readDocumentForm(q)
	if err != nil {
		return q.fail(err)
	}
	if kyc.CheckCustomerID(in.Holder) == nil {
		q.customerID = in.Holder // for the log: only an id (the use case refuses anything else)
	}
	q.body = uploadFingerprint(in, f)
	return q.once(func(ctx context.Context, intent string) response {
		d, err := p.Documents.Upload(ctx, q.platformID, in, f, intent)
		return answer(q, http.StatusCreated, d, err)
	})
}

// uploadFingerprint is what an upload asks for, as the JSON the
// idempotency fingerprint reads: its parts' values and the file's name and
// SHA-256, not the body's bytes, whose multipart boundary a client draws
// afresh on every retry.
func uploadFingerprint(in kyc.DocumentInput, f kyc.DocumentFile) []byte {
	sum := sha256.Sum256(f.Content)
	b, _ := json.Marshal(map[string]string{"documentHolder": in.Holder, "documentType": in.Type, "country": in.Country,
		"side": in.Side, "documentNumber": in.Number, "issuingAuthority": in.IssuingAuthority,
		"fileName": f.Name, "fileSHA256": hex.EncodeToString(sum[:])})
	return b
}

func (p *Platform) listDocuments(q *request) response {
	lq, err := kyc.ParseDocumentListQuery(q.r.URL.Query())
	if err != nil {
		return q.fail(err)
	}
	l, err := p.Documents.List(q.ctx, q.platformID, lq)
	return answer(q, http.StatusOK, l, err)
}

func (p *Platform) getDocument(q *request) response {
	d, err := p.Documents.Get(q.ctx, q.platformID, q.r.PathValue("documentId"))
	return answer(q, http.StatusOK, d, err)
}

func (p *Platform) replaceDocument(q *request) response {
	in, f, err := readDocumentForm(q)
	if err != nil {
		return q.fail(err)
	}
	d, err := p.Documents.Replace(q.ctx, q.platformID, q.r.PathValue("documentId"), in, f)
	return answer(q, http.StatusOK, d, err)
}

// deleteDocument answers 204 with no body and no Content-Type.
func (p *Platform) deleteDocument(q *request) response {
	if err := p.Documents.Delete(q.ctx, q.platformID, q.r.PathValue("documentId")); err != nil {
		return q.fail(err)
	}
	return response{Status: http.StatusNoContent, Header: http.Header{}}
}

// createVerification answers 200 (Grid's status), whatever the
// verification's status: RESOLVE_ERRORS is an answer, not a failure.
func (p *Platform) createVerification(q *request) response {
	id, err := kyc.ParseVerificationRequest(q.body)
	if err != nil {
		return q.fail(err)
	}
	q.customerID = id
	return q.once(func(ctx context.Context, intent string) response {
		v, err := p.Verifications.Submit(ctx, q.platformID, id, intent)
		return answer(q, http.StatusOK, v, err)
	})
}

func (p *Platform) listVerifications(q *request) response {
	lq, err := kyc.ParseVerificationListQuery(q.r.URL.Query())
	if err != nil {
		return q.fail(err)
	}
	l, err := p.Verifications.List(q.ctx, q.platformID, lq)
	return answer(q, http.StatusOK, l, err)
}

func (p *Platform) getVerification(q *request) response {
	v, err := p.Verifications.Get(q.ctx, q.platformID, q.r.PathValue("verificationId"))
	return answer(q, http.StatusOK, v, err)
}

// The direct-upload extension's routes (not in Grid; api/openapi.yaml
// marks them x-kyc-link-extension).
const (
	CreateUploadRoute   = "POST /document-uploads"
	CompleteUploadRoute = "POST /document-uploads/{uploadId}/complete"
)

func (p *Platform) createUpload(q *request) response {
	holder, err := kyc.ParseUploadRequest(q.body)
	if err != nil {
		return q.fail(err)
	}
	if kyc.CheckCustomerID(holder) == nil {
		q.customerID = holder // for the log: only an id
	}
	return q.once(func(ctx context.Context, intent string) response {
		u, err := p.Uploads.Start(ctx, q.platformID, holder, intent)
		return answer(q, http.StatusCreated, u, err)
	})
}

// completeUpload answers 201 with the document, the same on a repeat.
func (p *Platform) completeUpload(q *request) response {
	in, err := kyc.ParseCompleteInput(q.body)
	if err != nil {
		return q.fail(err)
	}
	d, err := p.Uploads.Complete(q.ctx, q.platformID, q.r.PathValue("uploadId"), in)
	return answer(q, http.StatusCreated, d, err)
}

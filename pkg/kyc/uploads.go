package kyc

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Direct uploads: this service's documented extension (not in Grid) for
// files larger than an inline upload carries, up to Grid's 10 MB. The
// platform asks for an upload (POST /document-uploads), posts the file
// straight to storage with the form it got (an S3 presigned POST whose
// policy binds the key and the size), then completes it with Grid's
// metadata (POST /document-uploads/{uploadId}/complete), which checks the
// stored file as an inline upload is checked and answers the same 201
// Document. The bytes never pass through a function.

// UploadIDPrefix starts every direct upload's id.
const UploadIDPrefix = "DocumentUpload:"

// UploadTTL is how long an upload's form works, and how long its record
// and an uncompleted file are kept (storage expires incoming/ after a
// day).
const UploadTTL = 15 * time.Minute

// Upload is a direct upload as kept: whose it is and where its file goes.
type Upload struct {
	ID         string
	PlatformID string
	Holder     string
	FileKey    string // incoming/<uuid>
	CreatedAt  time.Time
	ExpiresAt  time.Time
	// Completed: its document was made once (the store marks it with the
	// document's insert); the upload never makes another (a deleted
	// document does not come back through it).
	Completed bool
}

// UploadView is the extension's DocumentUpload.
type UploadView struct {
	ID             string            `json:"id"`
	DocumentHolder string            `json:"documentHolder"`
	URL            string            `json:"url"`
	Fields         map[string]string `json:"fields"`
	MaxFileSize    int64             `json:"maxFileSize"`
	ExpiresAt      string            `json:"expiresAt"`
}

// UploadRecords keeps direct uploads until they expire.
type UploadRecords interface {
	PutUpload(ctx context.Context, u Upload) error
	// UploadRecord reads one consistently; a missing one is
	// UploadNotFound().
	UploadRecord(ctx context.Context, id string) (Upload, error)
}

// DirectFiles is what a direct upload needs of file storage beyond
// DocumentFiles.
type DirectFiles interface {
	// PresignUpload returns the URL and form fields that let a client
	// POST one file of 1 to maxBytes bytes to key, until expires.
	PresignUpload(ctx context.Context, key string, maxBytes int64, expires time.Time) (url string, fields map[string]string, err error)
	// Stat returns the size of the file under key and its first n bytes;
	// found is false when there is none.
	Stat(ctx context.Context, key string, n int) (size int64, head []byte, found bool, err error)
	// Copy copies the file under from to to, inside the storage.
	Copy(ctx context.Context, from, to, contentType string) error
}

// UploadNotFound is the answer for an upload that is not the platform's,
// or no longer exists.
func UploadNotFound() *Error { return Errorf(CodeReferenceNotFound, "Document upload not found.") }

// DirectUploads is the extension's use case.
type DirectUploads struct {
	Documents *Documents
	Store     UploadRecords
	Files     DirectFiles
	Now       func() time.Time
	NewID     func() (uuid.UUID, error)
}

// ParseUploadRequest reads POST /document-uploads' body ({"documentHolder"}).
func ParseUploadRequest(body []byte) (string, error) {
	var in struct {
		DocumentHolder *string `json:"documentHolder"`
	}
	if err := decodeStrict(body, &in, nil); err != nil {
		return "", err
	}
	if in.DocumentHolder == nil {
		return "", InvalidField("documentHolder", "documentHolder is required: the id of the customer or beneficial owner the document belongs to.")
	}
	return *in.DocumentHolder, nil
}

// Start makes a direct upload for holder: its record, then the form.
// intent (an idempotent request's UUID) names it.
func (s *DirectUploads) Start(ctx context.Context, platformID, holder, intent string) (UploadView, error) {
	if err := (DocumentInput{Holder: holder, Type: "OTHER", Country: "US"}).check(true); err != nil {
		return UploadView{}, err
	}
	if err := s.Documents.checkHolder(ctx, platformID, holder); err != nil {
		return UploadView{}, err
	}
	u := intent
	if u == "" {
		id, err := s.newID()
		if err != nil {
			return UploadView{}, Internal(fmt.Errorf("kyc: new upload id: %w", err))
		}
		u = id.String()
	}
	now := s.Now().UTC().Truncate(time.Second)
	up := Upload{ID: UploadIDPrefix + u, PlatformID: platformID, Holder: holder, FileKey: path.Join("incoming", u),
		CreatedAt: now, ExpiresAt: now.Add(UploadTTL)}
	if err := s.Store.PutUpload(ctx, up); err != nil {
		return UploadView{}, err
	}
	url, fields, err := s.Files.PresignUpload(ctx, up.FileKey, MaxDocumentSize, up.ExpiresAt)
	if err != nil {
		return UploadView{}, err
	}
	return UploadView{ID: up.ID, DocumentHolder: holder, URL: url, Fields: fields, MaxFileSize: MaxDocumentSize,
		ExpiresAt: FormatTime(up.ExpiresAt)}, nil
}

func (s *DirectUploads) newID() (uuid.UUID, error) {
	if s.NewID != nil {
		return s.NewID()
	}
	return uuid.NewV7()
}

// CompleteInput is the completion's body: Grid's metadata and the file's
// name.
type CompleteInput struct {
	DocumentType     *string `json:"documentType"`
	Country          *string `json:"country"`
	Side             *string `json:"side"`
	DocumentNumber   *string `json:"documentNumber"`
	IssuingAuthority *string `json:"issuingAuthority"`
	FileName         *string `json:"fileName"`
}

// ParseCompleteInput reads the completion's body.
func ParseCompleteInput(body []byte) (DocumentInput, error) {
	var in CompleteInput
	if err := decodeStrict(body, &in, nil); err != nil {
		return DocumentInput{}, err
	}
	v := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return DocumentInput{Type: v(in.DocumentType), Country: v(in.Country), Side: v(in.Side),
		Number: v(in.DocumentNumber), IssuingAuthority: v(in.IssuingAuthority), FileName: v(in.FileName)}, nil
}

// Complete turns upload id into a document: the file is checked as an
// inline one is (its size, its leading bytes), copied to its document's
// place, and the metadata written. The document is Document:<the upload's
// UUID>, so completing again answers the same document.
func (s *DirectUploads) Complete(ctx context.Context, platformID, id string, in DocumentInput) (DocumentView, error) {
	if !strings.HasPrefix(id, UploadIDPrefix) || CheckCustomerID(id) != nil {
		return DocumentView{}, UploadNotFound()
	}
	docID := DocumentIDPrefix + strings.TrimPrefix(id, UploadIDPrefix)
	// The upload and the document it becomes, side by side.
	var prev Document
	prevErr := background(ctx, func(ctx context.Context) error {
		var err error
		prev, err = s.Documents.Store.DocumentRecord(ctx, docID)
		return err
	})
	up, err := s.Store.UploadRecord(ctx, id)
	perr := <-prevErr
	if err != nil {
		return DocumentView{}, err
	}
	if up.PlatformID != platformID {
		return DocumentView{}, UploadNotFound()
	}
	// Completed before: answer that document, whatever this body says.
	if perr == nil && prev.PlatformID == platformID {
		return prev.View(), nil
	}
	if e := AsError(perr); perr != nil && e.Code != CodeReferenceNotFound {
		return DocumentView{}, perr
	}
	if up.Completed || s.Now().After(up.ExpiresAt.Add(time.Hour)) {
		return DocumentView{}, UploadNotFound() // its document was deleted, or the upload is long over
	}
	in.Holder = up.Holder
	if err := in.check(true); err != nil {
		return DocumentView{}, err
	}
	// The file as stored and the holder, side by side.
	holder := background(ctx, func(ctx context.Context) error { return s.Documents.checkHolder(ctx, platformID, up.Holder) })
	size, head, found, err := s.Files.Stat(ctx, up.FileKey, SniffLength)
	herr := <-holder
	if err != nil {
		return DocumentView{}, err
	}
	if !found {
		return DocumentView{}, InvalidField("file", "Nothing was uploaded for this upload yet: POST the file to its url with its fields first.")
	}
	ct, err := checkFile(size, head, MaxDocumentSize)
	if err != nil {
		return DocumentView{}, err
	}
	if herr != nil {
		return DocumentView{}, herr
	}
	now := s.Documents.now()
	d := Document{ID: docID, PlatformID: platformID, Holder: up.Holder, Type: DocumentType(in.Type), Side: in.Side,
		Country: in.Country, Number: in.Number, IssuingAuthority: in.IssuingAuthority,
		FileName: fileName(in.FileName, ct), ContentType: ct, Size: size,
		FileKey: FileKey(docID, 1), CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.Files.Copy(ctx, up.FileKey, d.FileKey, ct); err != nil {
		return DocumentView{}, err
	}
	d.Upload = id // marked completed with the insert
	v, err := s.Documents.insert(ctx, platformID, d)
	if err != nil {
		return DocumentView{}, err
	}
	// The incoming file is no longer needed; should this delete fail, the
	// storage's lifecycle rule removes it within a day.
	s.Documents.forget(ctx, up.FileKey)
	return v, nil
}

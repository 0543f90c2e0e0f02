package kyc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Documents is the platform API's document use case: Grid's /documents
// routes. Files go to Files, metadata to Store; the holder must be one of
// the platform's customers.
type Documents struct {
	Store   DocumentRecords
	Files   DocumentFiles
	Holders HolderStore
	// Owners finds a beneficial owner's business: an owner holds
	// documents too (nil: customers only).
	Owners OwnerLocator
	// CursorKey signs list cursors (Customers.CursorKey's key).
	CursorKey func(ctx context.Context) ([]byte, error)
	Now       func() time.Time
	NewID     func() (uuid.UUID, error)
	// InlineLimit is the largest file an inline upload carries
	// (MaxDocumentSize when zero); a larger one is refused naming the
	// direct upload.
	InlineLimit int64
}

// DocumentFile is an uploaded file: its bytes and the name the platform
// gave it.
type DocumentFile struct {
	Name    string
	Content []byte
}

func (s *Documents) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Documents) newID() (uuid.UUID, error) {
	if s.NewID != nil {
		return s.NewID()
	}
	return uuid.NewV7()
}

func (s *Documents) inlineLimit() int64 {
	if s.InlineLimit > 0 {
		return s.InlineLimit
	}
	return MaxDocumentSize
}

// FileKey is a new key for a file of document id's version: the version
// and a random suffix, so that no two writes share a key (two PUTs of
// one version, a retried upload): a replacement never overwrites what a
// submission may be reading, and a file found unreferenced after a failed
// or lost write can be deleted without touching anyone else's.
func FileKey(id string, version int64) string {
	return path.Join("documents", strings.TrimPrefix(id, DocumentIDPrefix), "v"+strconv.FormatInt(version, 10)+"-"+rand.Text()[:12])
}

// fileName is the name answered: the one given, else one from the type.
func fileName(given, contentType string) string {
	if given != "" {
		return given
	}
	return "document" + map[string]string{ContentTypePDF: ".pdf", ContentTypeJPEG: ".jpg", ContentTypePNG: ".png"}[contentType]
}

// TooLargeForInline is the answer for an inline file over the limit: it
// names the limit and the direct upload.
func TooLargeForInline(size, limit int64) *Error {
	return InvalidField("file", "The file is %d bytes; an upload in the request body carries at most %d bytes. Upload larger files (up to %d bytes) with POST /document-uploads (a direct upload to storage), then POST /document-uploads/{uploadId}/complete.", size, limit, MaxDocumentSize)
}

// Upload stores a new document of platformID: the file, then its
// metadata. intent (an idempotent request's UUID) names the document, and
// a retry whose first attempt landed answers that document.
func (s *Documents) Upload(ctx context.Context, platformID string, in DocumentInput, f DocumentFile, intent string) (DocumentView, error) {
	if err := in.check(true); err != nil {
		return DocumentView{}, err
	}
	if int64(len(f.Content)) > s.inlineLimit() {
		return DocumentView{}, TooLargeForInline(int64(len(f.Content)), s.inlineLimit())
	}
	ct, err := checkFile(int64(len(f.Content)), f.Content, MaxDocumentSize)
	if err != nil {
		return DocumentView{}, err
	}
	id, err := s.documentID(intent)
	if err != nil {
		return DocumentView{}, err
	}
	now := s.now()
	d := Document{ID: id, PlatformID: platformID, Holder: in.Holder, Type: DocumentType(in.Type), Side: in.Side,
		Country: in.Country, Number: in.Number, IssuingAuthority: in.IssuingAuthority,
		FileName: fileName(in.FileName, ct), ContentType: ct, Size: int64(len(f.Content)),
		FileKey: FileKey(id, 1), CreatedAt: now, UpdatedAt: now, Version: 1}
	// The holder's read and the file's write (and, for a retry, the
	// document an earlier attempt may have stored) are independent: side
	// by side, one round trip.
	var prev Document
	landed := background(ctx, func(ctx context.Context) error {
		if intent == "" {
			return DocumentNotFound() // a new id: nothing landed before
		}
		var err error
		prev, err = s.Store.DocumentRecord(ctx, id)
		return err
	})
	holder := background(ctx, func(ctx context.Context) error { return s.checkHolder(ctx, platformID, in.Holder) })
	put := background(ctx, func(ctx context.Context) error { return s.Files.PutFile(ctx, d.FileKey, ct, f.Content) })
	lerr, herr, perr := <-landed, <-holder, <-put
	if lerr == nil && prev.PlatformID == platformID {
		// An earlier attempt of this request stored it: its answer.
		if perr == nil {
			s.forget(ctx, d.FileKey)
		}
		return prev.View(), nil
	}
	if e := AsError(lerr); lerr != nil && e.Code != CodeReferenceNotFound {
		herr = errors.Join(herr, lerr)
	}
	if err := errors.Join(herr, perr); err != nil {
		if perr == nil {
			s.forget(ctx, d.FileKey) // written under a key nobody refers to
		}
		if herr != nil {
			return DocumentView{}, AsError(herr)
		}
		return DocumentView{}, perr
	}
	return s.insert(ctx, platformID, d)
}

// insert writes d's metadata; an id taken by an earlier attempt of the
// same request answers what that attempt stored. The file just written
// under d.FileKey goes when the metadata is not written.
func (s *Documents) insert(ctx context.Context, platformID string, d Document) (DocumentView, error) {
	err := s.Store.InsertDocument(ctx, d)
	if err != nil && !errors.Is(err, ErrDocumentExists) {
		// A lost answer may have landed: the key may be referred to,
		// unless the store refused outright.
		if errors.Is(err, ErrHolderFull) {
			s.forget(ctx, d.FileKey)
			return DocumentView{}, holderFull()
		}
		return DocumentView{}, err
	}
	if errors.Is(err, ErrDocumentExists) {
		s.forget(ctx, d.FileKey)
		prev, rerr := s.Store.DocumentRecord(ctx, d.ID)
		if rerr != nil {
			return DocumentView{}, rerr
		}
		if prev.PlatformID != platformID {
			return DocumentView{}, Internal(fmt.Errorf("kyc: document %s exists for another platform", d.ID))
		}
		return prev.View(), nil
	}
	if err != nil {
		return DocumentView{}, err
	}
	return d.View(), nil
}

func (s *Documents) documentID(intent string) (string, error) {
	if intent != "" {
		return DocumentIDPrefix + intent, nil
	}
	u, err := s.newID()
	if err != nil {
		return "", Internal(fmt.Errorf("kyc: new document id: %w", err))
	}
	return DocumentIDPrefix + u.String(), nil
}

// ErrHolderFull is a store's refusal of an insert whose holder has
// MaxDocumentsPerHolder documents, decided atomically with the write.
var ErrHolderFull = errors.New("kyc: the holder has the most documents allowed")

func holderFull() *Error {
	return InvalidField("documentHolder", "The document holder has %d documents, the most one holder may have; delete one before uploading another.", MaxDocumentsPerHolder)
}

// checkHolder answers whether holder is an active customer of platformID
// (the store decides, with the write, whether it has room for another
// document).
func (s *Documents) checkHolder(ctx context.Context, platformID, holder string) error {
	customerID := holder
	if strings.HasPrefix(holder, OwnerIDPrefix) {
		// An owner holds documents while its business is the platform's
		// and active.
		if s.Owners == nil {
			return HolderNotFound()
		}
		cid, err := s.Owners.OwnerCustomerID(ctx, holder)
		if e := AsError(err); err != nil && e.Code == CodeReferenceNotFound {
			return HolderNotFound()
		}
		if err != nil {
			return err
		}
		customerID = cid
	}
	c, err := s.Holders.CustomerRecord(ctx, customerID)
	if e := AsError(err); err != nil && e.Code == CodeNotFound {
		return HolderNotFound()
	}
	if err != nil {
		return err
	}
	if c.PlatformID != platformID || c.IsDeleted {
		return HolderNotFound()
	}
	if _, ok := c.Owner(holder); customerID != holder && !ok {
		return HolderNotFound()
	}
	return nil
}

// forget deletes a file whose metadata was never written; a failure
// leaves an orphan file nothing refers to (logged by the store).
func (s *Documents) forget(ctx context.Context, key string) {
	_ = s.Files.DeleteFile(context.WithoutCancel(ctx), key)
}

// record reads platformID's document id: another platform's is
// DocumentNotFound, as an unknown one.
func (s *Documents) record(ctx context.Context, platformID, id string) (Document, error) {
	if err := CheckDocumentID(id); err != nil {
		return Document{}, err
	}
	d, err := s.Store.DocumentRecord(ctx, id)
	if err != nil {
		return Document{}, err
	}
	if d.PlatformID != platformID {
		return Document{}, DocumentNotFound()
	}
	return d, nil
}

// CheckDocumentID refuses an id no document can have, without a read.
func CheckDocumentID(id string) error {
	if !strings.HasPrefix(id, DocumentIDPrefix) || CheckCustomerID(id) != nil {
		return DocumentNotFound()
	}
	return nil
}

// Get returns platformID's document id.
func (s *Documents) Get(ctx context.Context, platformID, id string) (DocumentView, error) {
	d, err := s.record(ctx, platformID, id)
	if err != nil {
		return DocumentView{}, err
	}
	return d.View(), nil
}

// Replace replaces document id's file and metadata; the holder stays (a
// documentHolder given must be the same). A submitted document is 409.
func (s *Documents) Replace(ctx context.Context, platformID, id string, in DocumentInput, f DocumentFile) (DocumentView, error) {
	if err := in.check(false); err != nil {
		return DocumentView{}, err
	}
	if int64(len(f.Content)) > s.inlineLimit() {
		return DocumentView{}, TooLargeForInline(int64(len(f.Content)), s.inlineLimit())
	}
	ct, err := checkFile(int64(len(f.Content)), f.Content, MaxDocumentSize)
	if err != nil {
		return DocumentView{}, err
	}
	for range maxAttempts {
		prev, err := s.record(ctx, platformID, id)
		if err != nil {
			return DocumentView{}, err
		}
		if in.Holder != "" && in.Holder != prev.Holder {
			return DocumentView{}, InvalidField("documentHolder", "A document's holder cannot change; upload a new document for the other holder.")
		}
		if prev.SubmittedIn != "" {
			return DocumentView{}, documentSubmitted()
		}
		next := prev
		next.Type, next.Side, next.Country = DocumentType(in.Type), in.Side, in.Country
		next.Number, next.IssuingAuthority = in.Number, in.IssuingAuthority
		next.FileName, next.ContentType, next.Size = fileName(in.FileName, ct), ct, int64(len(f.Content))
		next.Version = prev.Version + 1
		next.FileKey = FileKey(id, next.Version)
		next.UpdatedAt = s.now()
		if !next.UpdatedAt.After(prev.UpdatedAt) {
			next.UpdatedAt = prev.UpdatedAt.Add(time.Millisecond)
		}
		if err := s.Files.PutFile(ctx, next.FileKey, ct, f.Content); err != nil {
			return DocumentView{}, err
		}
		err = s.Store.ReplaceDocument(ctx, prev, next)
		if errors.Is(err, ErrChanged) {
			// Another write won, or the document was submitted: our file
			// is nobody's; read again to say which.
			s.forget(ctx, next.FileKey)
			continue
		}
		if err != nil {
			// The write may have landed: keep the file it may refer to.
			return DocumentView{}, err
		}
		s.forget(ctx, prev.FileKey)
		return next.View(), nil
	}
	return DocumentView{}, concurrentModification()
}

// Delete deletes document id and its file; a submitted document is 409.
// A document gone after a write of ours that answered ErrChanged was
// deleted (by us, its answer lost, or by a concurrent DELETE): 204, and
// its file goes.
func (s *Documents) Delete(ctx context.Context, platformID, id string) error {
	var tried *Document
	for range maxAttempts {
		prev, err := s.record(ctx, platformID, id)
		if e := AsError(err); err != nil && e.Code == CodeReferenceNotFound && tried != nil {
			s.forget(ctx, tried.FileKey)
			return nil
		}
		if err != nil {
			return err
		}
		if prev.SubmittedIn != "" {
			return documentSubmitted()
		}
		err = s.Store.DeleteDocument(ctx, prev)
		if errors.Is(err, ErrChanged) {
			tried = &prev
			continue
		}
		if err != nil {
			return err
		}
		s.forget(ctx, prev.FileKey)
		return nil
	}
	return concurrentModification()
}

// DocumentListQuery is GET /documents' query.
type DocumentListQuery struct {
	Holder string
	Limit  int
	Cursor string
}

// DocumentList is Grid's DocumentListResponse (no totalCount).
type DocumentList struct {
	Data       []DocumentView `json:"data"`
	HasMore    bool           `json:"hasMore"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

// ParseDocumentListQuery reads GET /documents' parameters.
func ParseDocumentListQuery(params map[string][]string) (DocumentListQuery, error) {
	var q DocumentListQuery
	err := parseQuery(params, []string{"documentHolder", "limit", "cursor"}, func(errs *fieldErrors, name, v string) {
		switch name {
		case "documentHolder":
			if !strings.HasPrefix(v, CustomerIDPrefix) && !strings.HasPrefix(v, OwnerIDPrefix) || CheckCustomerID(v) != nil {
				errs.add(name, "documentHolder must be a customer id (Customer:…) or a beneficial owner id (BeneficialOwner:…).")
			}
			q.Holder = v
		case "limit":
			q.Limit = parseLimit(errs, v)
		case "cursor":
			q.Cursor = parseCursorParam(errs, v)
		}
	})
	return q, err
}

// List returns a page of platformID's documents (of one holder when
// q.Holder is set), oldest first, by range reads of an index.
func (s *Documents) List(ctx context.Context, platformID string, q DocumentListQuery) (DocumentList, error) {
	const domain = "kyc-link documents cursor v1"
	limit, key, after, err := startPage(ctx, s.CursorKey, q.Limit, domain, platformID, q.Holder, q.Cursor)
	if err != nil {
		return DocumentList{}, err
	}
	docs, _, err := s.Store.DocumentRange(ctx, DocumentRange{PlatformID: platformID, Holder: q.Holder, After: after, Limit: limit + 1})
	if err != nil {
		return DocumentList{}, err
	}
	out := DocumentList{Data: []DocumentView{}}
	for _, d := range docs {
		if d.PlatformID != platformID || q.Holder != "" && d.Holder != q.Holder {
			continue // a store's bug must not leak another platform's document
		}
		if len(out.Data) == limit {
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, d.View())
	}
	if out.HasMore && len(out.Data) > 0 {
		last := out.Data[len(out.Data)-1]
		out.NextCursor = sealCursorIn(domain, key, platformID, q.Holder, ListPosition(parseFormatted(last.CreatedAt), last.ID))
	}
	return out, nil
}

// background runs f beside the caller; its error (a panic is a 500)
// arrives on the channel.
func background(ctx context.Context, f func(ctx context.Context) error) <-chan error {
	ch := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				ch <- Internal(fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		ch <- f(ctx)
	}()
	return ch
}

// parseFormatted reads back a FormatTime string.
func parseFormatted(s string) time.Time {
	t, _ := time.Parse("2006-01-02T15:04:05.000Z07:00", s)
	return t
}

// DocumentPurger deletes a document's records whatever their state.
type DocumentPurger interface {
	PurgeDocument(ctx context.Context, d Document) error
}

// Purge deletes every document of holder (a customer of platformID that
// is gone for good): each file, then its records, so that a purge cut
// short and run again finds what is left. Safe to repeat; submitted
// documents go too.
func (s *Documents) Purge(ctx context.Context, purger DocumentPurger, platformID, holder string) (int, error) {
	n := 0
	for {
		docs, more, err := s.Store.DocumentRange(ctx, DocumentRange{PlatformID: platformID, Holder: holder, Limit: MaxDocumentsPerHolder})
		if err != nil || len(docs) == 0 {
			return n, err
		}
		before := n
		for _, d := range docs {
			if d.PlatformID != platformID || d.Holder != holder {
				continue
			}
			if err := s.Files.DeleteFile(ctx, d.FileKey); err != nil {
				return n, err
			}
			if err := purger.PurgeDocument(ctx, d); err != nil {
				return n, err
			}
			n++
		}
		if !more || n == before {
			return n, nil
		}
	}
}

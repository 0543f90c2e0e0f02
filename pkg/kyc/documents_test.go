package kyc_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

func TestDetectContentType(t *testing.T) {
	for _, tc := range []struct {
		head []byte
		want string
	}{
		{pngFile, kyc.ContentTypePNG},
		{jpegFile, kyc.ContentTypeJPEG},
		{pdfFile, kyc.ContentTypePDF},
		{[]byte("hello, this is text named passport.png"), ""},
		{[]byte("\x89PNG"), ""}, // a truncated signature
		{[]byte("GIF89a"), ""},
		{nil, ""},
	} {
		if got := kyc.DetectContentType(tc.head); got != tc.want {
			t.Errorf("DetectContentType(%.12q) = %q; want %q", tc.head, got, tc.want)
		}
	}
}

func TestUploadRefusals(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	e.documents.InlineLimit = 1000
	c := create(t, e.customers, "p1", individual)
	good := kyc.DocumentInput{Holder: c.ID, Type: "PASSPORT", Country: "US"}
	for _, tc := range []struct {
		name  string
		in    kyc.DocumentInput
		file  []byte
		code  kyc.Code
		field string
	}{
		{"text named png", good, []byte("just text"), kyc.CodeInvalid, "file"},
		{"empty", good, nil, kyc.CodeInvalid, "file"},
		{"one byte over the inline limit", good, append(slices.Clone(pngFile), bytes.Repeat([]byte("x"), 1001-len(pngFile))...), kyc.CodeInvalid, "file"},
		{"no holder", kyc.DocumentInput{Type: "PASSPORT", Country: "US"}, pngFile, kyc.CodeInvalid, "documentHolder"},
		{"holder neither a customer nor an owner id", kyc.DocumentInput{Holder: "Document:x", Type: "PASSPORT", Country: "US"}, pngFile, kyc.CodeInvalid, "documentHolder"},
		{"holder an unknown owner", kyc.DocumentInput{Holder: "BeneficialOwner:x", Type: "PASSPORT", Country: "US"}, pngFile, kyc.CodeNotFound, ""},
		{"unknown type", kyc.DocumentInput{Holder: c.ID, Type: "PASSPORTS", Country: "US"}, pngFile, kyc.CodeInvalid, "documentType"},
		{"bad side", kyc.DocumentInput{Holder: c.ID, Type: "PASSPORT", Country: "US", Side: "LEFT"}, pngFile, kyc.CodeInvalid, "side"},
		{"no country", kyc.DocumentInput{Holder: c.ID, Type: "PASSPORT"}, pngFile, kyc.CodeInvalid, "country"},
		{"lower-case country", kyc.DocumentInput{Holder: c.ID, Type: "PASSPORT", Country: "us"}, pngFile, kyc.CodeInvalid, "country"},
		{"unknown holder", kyc.DocumentInput{Holder: "Customer:019ac0de-0000-7000-8000-999999999999", Type: "PASSPORT", Country: "US"}, pngFile, kyc.CodeNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.documents.Upload(ctx, "p1", tc.in, kyc.DocumentFile{Content: tc.file}, "")
			isErr(t, err, tc.code, tc.field)
		})
	}
	// The inline limit itself is accepted, and the refusal one byte over
	// it names the direct upload.
	at := append(slices.Clone(pngFile), bytes.Repeat([]byte("x"), 1000-len(pngFile))...)
	if _, err := e.documents.Upload(ctx, "p1", good, kyc.DocumentFile{Content: at}, ""); err != nil {
		t.Errorf("a file at the inline limit: %v", err)
	}
	_, err := e.documents.Upload(ctx, "p1", good, kyc.DocumentFile{Content: append(at, 'x')}, "")
	if err == nil || !strings.Contains(err.Error(), "POST /document-uploads") {
		t.Errorf("one byte over: %v; want the direct upload named", err)
	}
	// Another platform's customer is the same 404 as an unknown one; a
	// refused upload leaves no file behind.
	_, errOther := e.documents.Upload(ctx, "p2", good, kyc.DocumentFile{Content: pngFile}, "")
	_, errUnknown := e.documents.Upload(ctx, "p2", kyc.DocumentInput{Holder: "Customer:019ac0de-0000-7000-8000-999999999999", Type: "PASSPORT", Country: "US"}, kyc.DocumentFile{Content: pngFile}, "")
	if errOther == nil || errOther.Error() != errUnknown.Error() {
		t.Errorf("another platform's holder: %v; unknown: %v", errOther, errUnknown)
	}
	if got := len(e.files.Keys()); got != 1 {
		t.Errorf("%d files kept; want 1 (the one accepted)", got)
	}
}

func TestDocumentLifecycle(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := create(t, e.customers, "p1", individual)
	d, err := e.documents.Upload(ctx, "p1", kyc.DocumentInput{Holder: c.ID, Type: "DRIVERS_LICENSE", Side: "FRONT", Country: "US",
		Number: "D1234567", IssuingAuthority: "WA DOL", FileName: "front.jpg"}, kyc.DocumentFile{Name: "front.jpg", Content: jpegFile}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := kyc.DocumentView{ID: d.ID, DocumentHolder: c.ID, DocumentType: "DRIVERS_LICENSE", Side: "FRONT", Country: "US",
		DocumentNumber: "D1234567", IssuingAuthority: "WA DOL", FileName: "front.jpg", CreatedAt: kyc.FormatTime(now), UpdatedAt: kyc.FormatTime(now)}
	if diff := cmp.Diff(want, d); diff != "" || !strings.HasPrefix(d.ID, "Document:") {
		t.Fatalf("upload (-want +got):\n%s", diff)
	}
	got, err := e.documents.Get(ctx, "p1", d.ID)
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Fatalf("get: %v (-want +got):\n%s", err, diff)
	}
	_, errOther := e.documents.Get(ctx, "p2", d.ID)
	_, errUnknown := e.documents.Get(ctx, "p2", "Document:019ac0de-0000-7000-8000-999999999999")
	isErr(t, errOther, kyc.CodeReferenceNotFound, "")
	if errOther.Error() != errUnknown.Error() {
		t.Errorf("another platform's: %v; unknown: %v", errOther, errUnknown)
	}

	// Replace: the holder stays, updatedAt moves, the old file goes.
	e.advance(time.Minute)
	_, err = e.documents.Replace(ctx, "p1", d.ID, kyc.DocumentInput{Holder: "Customer:019ac0de-0000-7000-8000-999999999999", Type: "PASSPORT", Country: "US"}, kyc.DocumentFile{Content: pngFile})
	isErr(t, err, kyc.CodeInvalid, "documentHolder")
	r, err := e.documents.Replace(ctx, "p1", d.ID, kyc.DocumentInput{Type: "PASSPORT", Country: "DE"}, kyc.DocumentFile{Content: pdfFile})
	if err != nil {
		t.Fatal(err)
	}
	if r.DocumentType != "PASSPORT" || r.Country != "DE" || r.DocumentNumber != "" || r.FileName != "document.pdf" ||
		r.CreatedAt != want.CreatedAt || r.UpdatedAt != kyc.FormatTime(now.Add(time.Minute)) || r.DocumentHolder != c.ID {
		t.Errorf("replaced = %+v", r)
	}
	if keys := e.files.Keys(); len(keys) != 1 || !strings.Contains(keys[0], "/v2-") {
		t.Errorf("files after a replace: %v", keys)
	}
	_, err = e.documents.Replace(ctx, "p2", d.ID, kyc.DocumentInput{Type: "PASSPORT", Country: "DE"}, kyc.DocumentFile{Content: pdfFile})
	isErr(t, err, kyc.CodeReferenceNotFound, "")

	// Delete: 404 for another platform, then gone with its file.
	isErr(t, e.documents.Delete(ctx, "p2", d.ID), kyc.CodeReferenceNotFound, "")
	if err := e.documents.Delete(ctx, "p1", d.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.documents.Get(ctx, "p1", d.ID)
	isErr(t, err, kyc.CodeReferenceNotFound, "")
	if keys := e.files.Keys(); len(keys) != 0 {
		t.Errorf("files after a delete: %v", keys)
	}
}

func TestDocumentListAndLimits(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	a := create(t, e.customers, "p1", individual)
	b := create(t, e.customers, "p1", `{"customerType":"INDIVIDUAL","fullName":"B"}`)
	var ofA []string
	for i := range kyc.MaxDocumentsPerHolder {
		e.advance(time.Millisecond)
		ofA = append(ofA, e.upload(t, "p1", a.ID, "OTHER", "", pdfFile).ID)
		if i%10 == 0 {
			e.upload(t, "p1", b.ID, "OTHER", "", pdfFile)
		}
	}
	_, err := e.documents.Upload(ctx, "p1", kyc.DocumentInput{Holder: a.ID, Type: "OTHER", Country: "US"}, kyc.DocumentFile{Content: pdfFile}, "")
	isErr(t, err, kyc.CodeInvalid, "documentHolder")

	var got []string
	q := kyc.DocumentListQuery{Holder: a.ID, Limit: 7}
	for pages := 0; ; pages++ {
		l, err := e.documents.List(ctx, "p1", q)
		if err != nil || pages > 10 {
			t.Fatal(err)
		}
		for _, d := range l.Data {
			got = append(got, d.ID)
		}
		if !l.HasMore {
			break
		}
		q.Cursor = l.NextCursor
	}
	if diff := cmp.Diff(ofA, got); diff != "" {
		t.Errorf("a's documents (-want +got):\n%s", diff)
	}
	all, _ := e.documents.List(ctx, "p1", kyc.DocumentListQuery{Limit: 100})
	if len(all.Data) != kyc.MaxDocumentsPerHolder+5 || all.HasMore {
		t.Errorf("all: %d, hasMore %v", len(all.Data), all.HasMore)
	}
	other, _ := e.documents.List(ctx, "p2", kyc.DocumentListQuery{Holder: a.ID})
	if len(other.Data) != 0 {
		t.Errorf("p2 lists %d of p1's documents", len(other.Data))
	}
	l, _ := e.documents.List(ctx, "p1", kyc.DocumentListQuery{Holder: a.ID, Limit: 1})
	_, err = e.documents.List(ctx, "p1", kyc.DocumentListQuery{Holder: b.ID, Cursor: l.NextCursor})
	isErr(t, err, kyc.CodeInvalid, "cursor")
}

func TestUploadIsIdempotentByIntent(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := create(t, e.customers, "p1", individual)
	in := kyc.DocumentInput{Holder: c.ID, Type: "PASSPORT", Country: "US"}
	intent := "019ac0de-3333-7000-8000-000000000001"
	first, err := e.documents.Upload(ctx, "p1", in, kyc.DocumentFile{Content: pngFile}, intent)
	if err != nil {
		t.Fatal(err)
	}
	e.advance(time.Second)
	again, err := e.documents.Upload(ctx, "p1", in, kyc.DocumentFile{Content: pngFile}, intent)
	if diff := cmp.Diff(first, again); err != nil || diff != "" || first.ID != "Document:"+intent {
		t.Errorf("retry: %v (-first +again):\n%s", err, diff)
	}
}

// TestPurge: a purge deletes every document of the holder, submitted
// ones too, files first; another holder's and another platform's stay; a
// second purge finds nothing.
func TestPurge(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := e.ready(t, "p1")
	other := e.ready(t, "p1")
	e.upload(t, "p1", c.ID, "UTILITY_BILL", "", pdfFile)
	if _, err := e.verifications.Submit(ctx, "p1", c.ID, ""); err != nil {
		t.Fatal(err)
	}
	n, err := e.documents.Purge(ctx, e.store, "p1", c.ID)
	if err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2", n, err)
	}
	if l, _ := e.documents.List(ctx, "p1", kyc.DocumentListQuery{Holder: c.ID}); len(l.Data) != 0 {
		t.Errorf("after the purge: %d documents", len(l.Data))
	}
	if l, _ := e.documents.List(ctx, "p1", kyc.DocumentListQuery{Holder: other.ID}); len(l.Data) != 1 {
		t.Errorf("another holder's documents: %d; want 1", len(l.Data))
	}
	if keys := e.files.Keys(); len(keys) != 1 {
		t.Errorf("files after the purge: %v; want only the other holder's", keys)
	}
	if n, err := e.documents.Purge(ctx, e.store, "p1", c.ID); n != 0 || err != nil {
		t.Errorf("a second purge = %d, %v", n, err)
	}
}

// TestDirectUploadMakesOneDocument: an upload completes into its document
// (a repeat answers it); once that document is deleted, the upload makes
// no other, even with a new file posted to its still-valid form.
func TestDirectUploadMakesOneDocument(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := create(t, e.customers, "p1", individual)
	up := &kyc.DirectUploads{Documents: e.documents, Store: e.store, Files: e.files, Now: func() time.Time { return now }}
	u, err := up.Start(ctx, "p1", c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	meta := kyc.DocumentInput{Type: "PASSPORT", Country: "US"}
	if _, err := up.Complete(ctx, "p1", u.ID, meta); kyc.AsError(err).Code != kyc.CodeInvalid {
		t.Fatalf("completion before the upload = %v; want 400 file", err)
	}
	e.files.PutFile(ctx, u.Fields["key"], "", pdfFile)
	d, err := up.Complete(ctx, "p1", u.ID, meta)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := up.Complete(ctx, "p1", u.ID, kyc.DocumentInput{Type: "SELFIE", Country: "FR"}); err != nil || again != d {
		t.Errorf("a repeat = %+v, %v; want the same document", again, err)
	}
	if _, err := up.Complete(ctx, "p2", u.ID, meta); kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
		t.Errorf("another platform's completion = %v; want 404", err)
	}
	if err := e.documents.Delete(ctx, "p1", d.ID); err != nil {
		t.Fatal(err)
	}
	e.files.PutFile(ctx, u.Fields["key"], "", pngFile)
	if _, err := up.Complete(ctx, "p1", u.ID, meta); kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
		t.Errorf("completion after the document's delete = %v; want 404 (no document comes back)", err)
	}
}

func TestFileNameRules(t *testing.T) {
	e := newVerifyEnv(t)
	c := create(t, e.customers, "p1", individual)
	for _, name := range []string{"pasp\u202efdp.exe", "a\\b.png", "bad\xffutf8.png", "tab\t.png"} {
		_, err := e.documents.Upload(context.Background(), "p1", kyc.DocumentInput{Holder: c.ID, Type: "PASSPORT", Country: "US", FileName: name},
			kyc.DocumentFile{Name: name, Content: pngFile}, "")
		isErr(t, err, kyc.CodeInvalid, "file")
	}
}

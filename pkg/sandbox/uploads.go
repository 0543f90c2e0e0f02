package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// UploadsPath is where make run's direct uploads are posted.
const UploadsPath = "/sandbox/uploads"

// LocalUploads is make run's stand-in for S3's presigned POST: the form it
// hands out is signed (HMAC) over the key, the size limit and the expiry,
// and Receive stores one file posted with it, as S3 would. Stat and Copy
// come from the local file store.
type LocalUploads struct {
	BaseURL string // the local server, e.g. http://127.0.0.1:3000
	Key     []byte
	Files   interface {
		kyc.DocumentFiles
		Stat(ctx context.Context, key string, n int) (int64, []byte, bool, error)
		Copy(ctx context.Context, from, to, contentType string) error
	}
	Now func() time.Time
}

var _ kyc.DirectFiles = (*LocalUploads)(nil)

func (u *LocalUploads) sign(key, max, expires string) string {
	m := hmac.New(sha256.New, u.Key)
	for _, p := range []string{key, max, expires} {
		m.Write([]byte(strconv.Itoa(len(p)) + ":" + p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

func (u *LocalUploads) PresignUpload(_ context.Context, key string, maxBytes int64, expires time.Time) (string, map[string]string, error) {
	max, exp := strconv.FormatInt(maxBytes, 10), strconv.FormatInt(expires.Unix(), 10)
	return u.BaseURL + UploadsPath, map[string]string{"key": key, "max": max, "expires": exp, "signature": u.sign(key, max, exp)}, nil
}

func (u *LocalUploads) Stat(ctx context.Context, key string, n int) (int64, []byte, bool, error) {
	return u.Files.Stat(ctx, key, n)
}

func (u *LocalUploads) Copy(ctx context.Context, from, to, contentType string) error {
	return u.Files.Copy(ctx, from, to, contentType)
}

// Receive stores the file of a form PresignUpload signed: 204, as S3
// answers; 403 for a form not signed, expired or over its size.
func (u *LocalUploads) Receive(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, kyc.MaxDocumentSize+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "a multipart/form-data body is needed", http.StatusBadRequest)
		return
	}
	fields := map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			http.Error(w, "no file part", http.StatusBadRequest)
			return
		}
		if err != nil {
			http.Error(w, "malformed body", http.StatusBadRequest)
			return
		}
		if p.FormName() != "file" {
			if len(fields) == 16 {
				http.Error(w, "too many fields before the file", http.StatusBadRequest)
				return
			}
			b, _ := io.ReadAll(io.LimitReader(p, 1024))
			fields[p.FormName()] = string(b)
			continue
		}
		max, _ := strconv.ParseInt(fields["max"], 10, 64)
		exp, _ := strconv.ParseInt(fields["expires"], 10, 64)
		if !hmac.Equal([]byte(fields["signature"]), []byte(u.sign(fields["key"], fields["max"], fields["expires"]))) ||
			u.Now().Unix() > exp {
			http.Error(w, "the form's signature is invalid or expired", http.StatusForbidden)
			return
		}
		b, err := io.ReadAll(io.LimitReader(p, max+1))
		if err != nil || len(b) == 0 || int64(len(b)) > max {
			http.Error(w, "the file is empty or larger than the form allows", http.StatusBadRequest)
			return
		}
		if err := u.Files.PutFile(r.Context(), fields["key"], "", b); err != nil {
			http.Error(w, "the file could not be stored", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
}

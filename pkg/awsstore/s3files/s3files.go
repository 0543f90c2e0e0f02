// Package s3files keeps documents' files in S3 (kyc.DocumentFiles) and
// hands out presigned POSTs for direct uploads. Only the platform
// function links it (its own package, so no other function's build
// imports S3: pkg/app/clients.go).
//
// Encryption is the bucket's: its default encryption (SSE-KMS with the
// stack's DocumentsKey and an S3 Bucket Key) applies to every object, and
// no request here names one. Naming it would not help and can hurt: a
// request's x-amz-server-side-encryption: aws:kms without a key id is
// encrypted with the account's aws/s3 key, not the bucket's (S3's
// PutObject reference), and the bucket's policy refuses any write that
// names an encryption. A presigned POST's policy admits no encryption
// field either (S3 refuses a form field the policy does not cover), so an
// uploader cannot choose another.
package s3files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Files keeps documents' files in Bucket (IAM: s3:PutObject, GetObject,
// DeleteObject on its keys, and ListBucket, without which S3 answers a
// missing key with 403 instead of 404; the key of the bucket's default
// encryption must let the role GenerateDataKey and Decrypt).
type Files struct {
	Client *s3.Client
	Bucket string
}

var _ kyc.DocumentFiles = (*Files)(nil)

// ErrNotFound is wrapped by the answer for a key that holds no file.
var ErrNotFound = errors.New("s3files: no such file")

// s3Permanent are S3 error codes retrying cannot fix: the bucket or the
// request is wrong, the credentials or the key of its encryption are not
// ours to use (awsstore.Permanent knows the generic ones: access,
// validation, credentials).
var s3Permanent = map[string]bool{
	"NoSuchBucket":                 true,
	"InvalidBucketName":            true,
	"PermanentRedirect":            true, // the bucket is in another region
	"AuthorizationHeaderMalformed": true, // likewise
	"InvalidAccessKeyId":           true,
	"SignatureDoesNotMatch":        true,
	"AllAccessDisabled":            true,
	"AccountProblem":               true,
	"InvalidArgument":              true,
	"InvalidRequest":               true,
	"InvalidObjectState":           true,
	"Forbidden":                    true, // HeadObject's 403 (no body, no code)
	"MovedPermanently":             true, // HeadObject's 301
	"KMS.DisabledException":        true,
	"KMS.NotFoundException":        true,
	"KMS.KMSInvalidStateException": true,
	"KMS.InvalidKeyUsageException": true,
}

// fault is 500 for our misconfiguration, else 503 with a retry hint
// (SlowDown, InternalError, KMS throttling, the network), naming the
// store.
func fault(op string, err error) *kyc.Error {
	var api smithy.APIError
	if errors.As(err, &api) && s3Permanent[api.ErrorCode()] {
		return kyc.Misconfigured(kyc.DepStore, fmt.Errorf("s3 %s: %w", op, err))
	}
	return kyc.Outage(kyc.DepStore, awsstore.Permanent(err), "The document store is temporarily unavailable.", time.Second,
		fmt.Errorf("s3 %s: %w", op, err))
}

func (f *Files) op(what, key string) string { return what + " " + f.Bucket + "/" + key }

// notFound reports whether err says the key holds no object.
func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf)
}

// PutFile writes content under key with its content type (the bucket's
// default encryption applies).
func (f *Files) PutFile(ctx context.Context, key, contentType string, content []byte) error {
	_, err := f.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(content), ContentLength: aws.Int64(int64(len(content))), ContentType: aws.String(contentType)})
	if err != nil {
		return fault(f.op("PutObject", key), err)
	}
	return nil
}

// ReadFile reads the file under key. A missing one is our fault (a
// record names a file that is not there): 500, wrapping ErrNotFound.
func (f *Files) ReadFile(ctx context.Context, key string) ([]byte, error) {
	out, err := f.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(key)})
	if notFound(err) {
		return nil, kyc.Internal(fmt.Errorf("s3 %s: %w", f.op("GetObject", key), ErrNotFound))
	}
	if err != nil {
		return nil, fault(f.op("GetObject", key), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fault(f.op("GetObject (body)", key), err)
	}
	return b, nil
}

// DeleteFile deletes the file under key; S3 answers a missing one as
// deleted.
func (f *Files) DeleteFile(ctx context.Context, key string) error {
	_, err := f.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(key)})
	if err != nil && !notFound(err) {
		return fault(f.op("DeleteObject", key), err)
	}
	return nil
}

// Head returns the size of the file under key; a missing one is an error
// wrapping ErrNotFound (a direct upload not made yet), not a kyc.Error.
func (f *Files) Head(ctx context.Context, key string) (int64, error) {
	out, err := f.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(key)})
	if notFound(err) {
		return 0, fmt.Errorf("%s: %w", f.op("HeadObject", key), ErrNotFound)
	}
	if err != nil {
		return 0, fault(f.op("HeadObject", key), err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

// ReadHead reads at most the first n bytes of the file under key (fewer
// when it is shorter; none when it is empty): a ranged GetObject. A
// missing file is an error wrapping ErrNotFound.
func (f *Files) ReadHead(ctx context.Context, key string, n int) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	out, err := f.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(key),
		Range: aws.String("bytes=0-" + strconv.Itoa(n-1))})
	var api smithy.APIError
	switch {
	case notFound(err):
		return nil, fmt.Errorf("%s: %w", f.op("GetObject", key), ErrNotFound)
	case errors.As(err, &api) && api.ErrorCode() == "InvalidRange":
		return []byte{}, nil // an empty object has no first byte
	case err != nil:
		return nil, fault(f.op("GetObject", key), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, int64(n)))
	if err != nil {
		return nil, fault(f.op("GetObject (body)", key), err)
	}
	return b, nil
}

// PresignPost returns a presigned POST that uploads one file of 1 to
// maxBytes bytes to exactly key, valid for expires: the URL to post the
// form to, and the fields to send before the file (the file goes last,
// in a part named "file"). Its signed policy binds the bucket, the key
// and the size range, and admits no other field: the bucket's default
// encryption applies. S3 enforces the range; an emulator may not, so the
// completion of an upload checks the size itself (Head).
func (f *Files) PresignPost(ctx context.Context, key string, maxBytes int64, expires time.Duration) (string, map[string]string, error) {
	if key == "" || maxBytes < 1 || expires <= 0 {
		return "", nil, kyc.Internal(fmt.Errorf("s3files: presign %q for %d bytes and %s", key, maxBytes, expires))
	}
	out, err := s3.NewPresignClient(f.Client).PresignPostObject(ctx,
		&s3.PutObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(key)},
		func(o *s3.PresignPostOptions) {
			o.Expires = expires
			o.Conditions = []any{
				// Exactly this key (the SDK would add the same).
				map[string]string{"key": key},
				[]any{"content-length-range", 1, maxBytes},
			}
		})
	if err != nil {
		return "", nil, fault(f.op("presign POST", key), err)
	}
	return out.URL, out.Values, nil
}

var _ kyc.DirectFiles = (*Files)(nil)

// PresignUpload is PresignPost until expires (kyc.DirectFiles).
func (f *Files) PresignUpload(ctx context.Context, key string, maxBytes int64, expires time.Time) (string, map[string]string, error) {
	return f.PresignPost(ctx, key, maxBytes, time.Until(expires))
}

// Stat is the size and first n bytes of the file under key, from one
// ranged GetObject (its Content-Range names the whole size); found is
// false when nothing was uploaded there. An empty file is size 0.
func (f *Files) Stat(ctx context.Context, key string, n int) (int64, []byte, bool, error) {
	out, err := f.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(key),
		Range: aws.String("bytes=0-" + strconv.Itoa(max(n, 1)-1))})
	var api smithy.APIError
	switch {
	case notFound(err):
		return 0, nil, false, nil
	case errors.As(err, &api) && api.ErrorCode() == "InvalidRange":
		return 0, nil, true, nil // an empty object has no first byte
	case err != nil:
		return 0, nil, false, fault(f.op("GetObject", key), err)
	}
	defer out.Body.Close()
	head, err := io.ReadAll(io.LimitReader(out.Body, int64(n)))
	if err != nil {
		return 0, nil, false, fault(f.op("GetObject (body)", key), err)
	}
	size := aws.ToInt64(out.ContentLength)
	if cr := aws.ToString(out.ContentRange); cr != "" {
		// "bytes 0-7/12345": the whole object's size after the slash.
		_, total, ok := strings.Cut(cr, "/")
		if v, err := strconv.ParseInt(total, 10, 64); ok && err == nil {
			size = v
		}
	}
	return size, head, true, nil
}

// Copy copies the file under from to to inside the bucket (CopyObject: no
// byte passes through the function), with contentType (IAM: GetObject on
// from, PutObject on to).
func (f *Files) Copy(ctx context.Context, from, to, contentType string) error {
	_, err := f.Client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(to),
		CopySource: aws.String(f.Bucket + "/" + from), ContentType: aws.String(contentType),
		MetadataDirective: types.MetadataDirectiveReplace})
	if err != nil {
		return fault(f.op("CopyObject", from+" to "+to), err)
	}
	return nil
}

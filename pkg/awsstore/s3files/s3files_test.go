//go:build integration

package s3files_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore/s3files"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

// bucket makes the template's documents bucket (and its key) in moto.
func bucket(t *testing.T) (*s3files.Files, *motostack.Stack) {
	t.Helper()
	st := motostack.New(t, moto, motostack.Options{Only: []string{"DocumentsBucket"}})
	return &s3files.Files{Client: motostack.S3(moto), Bucket: st.Names["DocumentsBucket"]}, st
}

var png = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 300)...)

// TestFiles: put, read, delete; the bucket's default encryption (its key,
// a bucket key) is what the objects get, though no request names one.
func TestFiles(t *testing.T) {
	ctx := context.Background()
	f, st := bucket(t)
	key := kyc.FileKey("Document:019ac0de-0000-7000-8000-000000000001", 1)
	if err := f.PutFile(ctx, key, kyc.ContentTypePNG, png); err != nil {
		t.Fatal(err)
	}
	got, err := f.ReadFile(ctx, key)
	if err != nil || !bytes.Equal(got, png) {
		t.Fatalf("ReadFile = %d bytes, %v; want the %d put", len(got), err, len(png))
	}
	head, err := f.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != kyc.ContentTypePNG || head.ServerSideEncryption != types.ServerSideEncryptionAwsKms ||
		aws.ToString(head.SSEKMSKeyId) != st.Names["DocumentsKey"] || !aws.ToBool(head.BucketKeyEnabled) {
		t.Errorf("object: type %q, encryption %q with %q, bucket key %v; want %s, aws:kms with %s and a bucket key",
			aws.ToString(head.ContentType), head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId), aws.ToBool(head.BucketKeyEnabled),
			kyc.ContentTypePNG, st.Names["DocumentsKey"])
	}
	// A retry writes the same bytes over them.
	if err := f.PutFile(ctx, key, kyc.ContentTypePNG, png); err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteFile(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteFile(ctx, key); err != nil {
		t.Errorf("second DeleteFile = %v; want none (idempotent)", err)
	}
	_, err = f.ReadFile(ctx, key)
	if kyc.AsError(err).Code != kyc.CodeInternal || !errors.Is(err, s3files.ErrNotFound) {
		t.Errorf("ReadFile of a deleted file = %v; want 500 wrapping ErrNotFound", err)
	}
}

// TestHeadAndReadHead: a file's size, its first bytes (fewer when it is
// shorter, none when empty), and a missing key as ErrNotFound.
func TestHeadAndReadHead(t *testing.T) {
	ctx := context.Background()
	f, _ := bucket(t)
	if err := f.PutFile(ctx, "incoming/a", kyc.ContentTypePNG, png); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Head(ctx, "incoming/a"); err != nil || n != int64(len(png)) {
		t.Errorf("Head = %d, %v; want %d", n, err, len(png))
	}
	for _, n := range []int{1, kyc.SniffLength, len(png), len(png) + 100} {
		b, err := f.ReadHead(ctx, "incoming/a", n)
		if want := png[:min(n, len(png))]; err != nil || !bytes.Equal(b, want) {
			t.Errorf("ReadHead(%d) = %d bytes, %v; want the first %d", n, len(b), err, len(want))
		}
	}
	if kyc.DetectContentType(must(f.ReadHead(ctx, "incoming/a", kyc.SniffLength))) != kyc.ContentTypePNG {
		t.Error("the head read does not tell a PNG")
	}
	if err := f.PutFile(ctx, "incoming/empty", "application/octet-stream", nil); err != nil {
		t.Fatal(err)
	}
	if b, err := f.ReadHead(ctx, "incoming/empty", 8); err != nil || len(b) != 0 {
		t.Errorf("ReadHead of an empty file = %q, %v; want nothing", b, err)
	}
	if n, err := f.Head(ctx, "incoming/empty"); err != nil || n != 0 {
		t.Errorf("Head of an empty file = %d, %v; want 0", n, err)
	}
	if _, err := f.Head(ctx, "incoming/missing"); !errors.Is(err, s3files.ErrNotFound) {
		t.Errorf("Head of a missing file = %v; want ErrNotFound", err)
	}
	if _, err := f.ReadHead(ctx, "incoming/missing", 8); !errors.Is(err, s3files.ErrNotFound) {
		t.Errorf("ReadHead of a missing file = %v; want ErrNotFound", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// policy decodes a presigned POST's policy field.
func policy(t *testing.T, fields map[string]string) (expiration time.Time, conditions []any) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Expiration time.Time `json:"expiration"`
		Conditions []any     `json:"conditions"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("policy %s: %v", raw, err)
	}
	return doc.Expiration, doc.Conditions
}

// post sends a browser's form: fields, then the file.
func post(t *testing.T, url string, fields map[string]string, file []byte) *http.Response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if err := w.WriteField(k, fields[k]); err != nil {
			t.Fatal(err)
		}
	}
	part, err := w.CreateFormFile("file", "upload.png")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(file)
	w.Close()
	resp, err := http.Post(url, w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestPresignPost: the form uploads the file to exactly its key, encrypted
// by the bucket's default; its signed policy binds the bucket, the key and
// 1..maxBytes (which S3 enforces, moto does not: read from the policy) and
// admits no encryption field; it expires when asked.
func TestPresignPost(t *testing.T) {
	ctx := context.Background()
	f, st := bucket(t)
	key := "incoming/019ac0de-0000-7000-8000-000000000001"
	const maxBytes = kyc.MaxDocumentSize
	before := time.Now()
	url, fields, err := f.PresignPost(ctx, key, maxBytes, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if fields["key"] != key {
		t.Errorf("fields %v; want key %s", fields, key)
	}
	for k := range fields {
		if k == "x-amz-server-side-encryption" || k == "x-amz-server-side-encryption-aws-kms-key-id" {
			t.Errorf("field %s: the bucket's default encryption is the one", k)
		}
	}
	exp, conds := policy(t, fields)
	if exp.Before(before.Add(15*time.Minute-time.Second)) || exp.After(time.Now().Add(15*time.Minute+time.Second)) {
		t.Errorf("policy expires %s; want 15 minutes from now", exp)
	}
	var rng []any
	bound := map[string]string{}
	for _, c := range conds {
		switch c := c.(type) {
		case map[string]any:
			for k, v := range c {
				bound[k] = fmt.Sprint(v)
			}
		case []any:
			if len(c) > 0 && c[0] == "content-length-range" {
				rng = c
			} else {
				t.Errorf("condition %v: want only exact matches and the length range", c)
			}
		}
	}
	if bound["bucket"] != f.Bucket || bound["key"] != key {
		t.Errorf("policy binds %v; want bucket %s and key %s", bound, f.Bucket, key)
	}
	if fmt.Sprint(rng) != fmt.Sprintf("[content-length-range 1 %d]", maxBytes) {
		t.Errorf("length range %v; want 1 to %d", rng, maxBytes)
	}
	for k := range bound {
		if !slices.Contains([]string{"bucket", "key", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token"}, strings.ToLower(k)) {
			t.Errorf("the policy binds %s=%s, which the form does not need", k, bound[k])
		}
	}

	resp := post(t, url, fields, png)
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upload: %s %s", resp.Status, b)
	}
	if n, err := f.Head(ctx, key); err != nil || n != int64(len(png)) {
		t.Fatalf("Head after the upload = %d, %v; want %d", n, err, len(png))
	}
	head, err := f.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(key)})
	if err != nil || head.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(head.SSEKMSKeyId) != st.Names["DocumentsKey"] {
		t.Errorf("uploaded object: encryption %q with %q, %v; want aws:kms with the bucket's key", head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId), err)
	}
	if got, _ := f.ReadFile(ctx, key); !bytes.Equal(got, png) {
		t.Error("the uploaded file reads back otherwise")
	}
	if _, _, err := f.PresignPost(ctx, "", maxBytes, time.Minute); kyc.AsError(err).Code != kyc.CodeInternal {
		t.Errorf("a presign without key = %v; want 500", err)
	}
}

// TestErrors: a bucket that does not exist is our misconfiguration (500,
// the store named), not an outage to retry; an unreachable S3 is 503.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	missing := &s3files.Files{Client: motostack.S3(moto.Need(t)), Bucket: motoserver.Name("nobucket")}
	for name, err := range map[string]error{
		"PutFile":    missing.PutFile(ctx, "documents/x/v1", kyc.ContentTypePNG, png),
		"ReadFile":   second(missing.ReadFile(ctx, "documents/x/v1")),
		"DeleteFile": missing.DeleteFile(ctx, "documents/x/v1"),
	} {
		if e := kyc.AsError(err); e.Code != kyc.CodeInternal || e.Dependency != kyc.DepStore {
			t.Errorf("%s on a missing bucket = %v; want a STORE misconfiguration (500)", name, err)
		}
	}
	cfg := moto.Config()
	cfg.BaseEndpoint = aws.String("http://127.0.0.1:1")
	cfg.RetryMaxAttempts = 1
	down := &s3files.Files{Client: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), Bucket: "b"}
	if e := kyc.AsError(down.PutFile(ctx, "documents/x/v1", kyc.ContentTypePNG, png)); e.Code != kyc.CodeUnavailable || e.Dependency != kyc.DepStore {
		t.Errorf("S3 unreachable = %v; want 503 naming the store", e)
	}
}

func second[T any](_ T, err error) error { return err }

// TestAClientAsTheAppMakesIt: a client made without path-style requests
// (as pkg/app makes it) reaches moto at an IP endpoint (make dev's
// AWS_ENDPOINT_URL): the SDK puts the bucket in the path there.
func TestAClientAsTheAppMakesIt(t *testing.T) {
	ctx := context.Background()
	f, _ := bucket(t)
	app := &s3files.Files{Client: s3.NewFromConfig(moto.Config()), Bucket: f.Bucket}
	if err := app.PutFile(ctx, "documents/y/v1", kyc.ContentTypePNG, png); err != nil {
		t.Fatal(err)
	}
	if got, err := f.ReadFile(ctx, "documents/y/v1"); err != nil || !bytes.Equal(got, png) {
		t.Errorf("read back = %d bytes, %v", len(got), err)
	}
}

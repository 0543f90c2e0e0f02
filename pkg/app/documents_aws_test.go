//go:build integration

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
)

// docsEnv is the platform function as deployed on moto with the
// documents' and verifications' tables, the bucket and its key, and the
// outbox.
type docsEnv struct {
	h    http.Handler
	env  map[string]string
	logs *logbuf.Buffer
}

func docsOnMoto(t *testing.T) *docsEnv {
	t.Helper()
	moto := moto.Need(t)
	signing, _ := newSigningKey(t)
	st := motostack.New(t, moto, motostack.Options{
		Only: []string{"CustomersTable", "IdempotencyTable", "PlatformsTable", "CustomerDataKey", "DocumentsTable",
			"VerificationsTable", "DocumentsBucket", "DocumentsKey", "WebhookOutboxTable",
			"ApiTokensSecretArn", "CursorKeySecret", "IdempotencyKeySecret", "WebhookSigningKeySecretArn"},
		Secrets: map[string]string{
			"ApiTokensSecretArn": `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"` + auth.DigestHex("s") + `"},` +
				`{"id":"tok-q","platformId":"q","secretSha256":"` + auth.DigestHex("s") + `"}]}`,
			"WebhookSigningKeySecretArn": signing,
		},
	})
	env := map[string]string{"KYC_BACKEND": "aws"}
	maps.Copy(env, st.Env)
	for k, v := range env {
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, true)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	svc, err := app.Build(context.Background(), cfg, logs.Logger(), app.PlatformFunction)
	if err != nil {
		t.Fatal(err)
	}
	return &docsEnv{h: svc.Handler(), env: env, logs: logs}
}

// form is a multipart body of parts (name, value) and, when file is not
// nil, a file part named passport.png.
func form(file []byte, parts ...string) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i := 0; i+1 < len(parts); i += 2 {
		w.WriteField(parts[i], parts[i+1])
	}
	if file != nil {
		fw, _ := w.CreateFormFile("file", "passport.png")
		fw.Write(file)
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

// call sends a request with token to the path template tmpl filled with
// ids ({...} in order), checks the answer against the contract.
func (e *docsEnv) call(t *testing.T, token, method, tmpl, contentType string, body []byte, ids ...string) *httptest.ResponseRecorder {
	t.Helper()
	path := tmpl
	for _, id := range ids {
		i, j := strings.IndexByte(path, '{'), strings.IndexByte(path, '}')
		path = path[:i] + id + path[j+1:]
	}
	r := httptest.NewRequest(method, "http://api.test"+path, bytes.NewReader(body))
	r.SetBasicAuth(token, "s")
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if err := contract.CheckOperation(method, strings.SplitN(tmpl, "?", 2)[0], w.Code, w.Header(), w.Body.Bytes()); err != nil {
		t.Error(err)
	}
	return w
}

func (e *docsEnv) json(t *testing.T, token, method, tmpl, body string, ids ...string) *httptest.ResponseRecorder {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return e.call(t, token, method, tmpl, ct, []byte(body), ids...)
}

func idOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var v struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.ID == "" {
		t.Fatalf("%d %s: no id", w.Code, w.Body)
	}
	return v.ID
}

// Personal data the documents test sends: none may reach the log.
const (
	docNumber = "X98765432"
	docName   = "Marguerite Okonkwo-Villanueva"
)

var passportPNG = []byte("\x89PNG\r\n\x1a\nSECRET-PASSPORT-IMAGE-BYTES")

// TestDocumentsAndVerificationsOnMoto: the journey of issue 25 on
// DynamoDB, S3 and KMS (moto): a customer missing data is sent back with
// exactly what is missing; an upload and a PATCH make it complete; the
// submission is IN_PROGRESS with the customer PENDING; the submitted
// document can be neither replaced nor deleted; another platform gets,
// on every route, the 404 an unknown id gets, byte for byte; nothing
// personal reaches the log.
func TestDocumentsAndVerificationsOnMoto(t *testing.T) {
	e := docsOnMoto(t)
	c := idOf(t, e.json(t, "tok", "POST", contract.CustomersPath, `{"customerType":"INDIVIDUAL","fullName":"`+docName+`","birthDate":"1990-01-15","nationality":"US"}`))

	w := e.json(t, "tok", "POST", contract.VerificationsPath, `{"customerId":"`+c+`"}`)
	var v struct {
		ID                 string
		VerificationStatus string
		Errors             []struct{ Type, Field string }
	}
	json.Unmarshal(w.Body.Bytes(), &v)
	var kinds []string
	for _, e := range v.Errors {
		kinds = append(kinds, e.Type+":"+e.Field)
	}
	if w.Code != 200 || v.VerificationStatus != "RESOLVE_ERRORS" || strings.Join(kinds, " ") !=
		"MISSING_FIELD:customer.idType MISSING_FIELD:customer.identifier MISSING_FIELD:customer.address MISSING_IDENTITY_DOCUMENT:" {
		t.Fatalf("first submission = %d %s", w.Code, w.Body)
	}

	if w := e.json(t, "tok", "PATCH", contract.CustomerPath, `{"customerType":"INDIVIDUAL","idType":"SSN","identifier":"111-22-3333",
		"address":{"line1":"1 Main St","city":"Seattle","postalCode":"98101","country":"US"}}`, c); w.Code != 200 {
		t.Fatalf("PATCH = %d %s", w.Code, w.Body)
	}
	ct, body := form(passportPNG, "documentHolder", c, "documentType", "PASSPORT", "country", "US", "documentNumber", docNumber)
	w = e.call(t, "tok", "POST", contract.DocumentsPath, ct, body)
	if w.Code != 201 {
		t.Fatalf("upload = %d %s", w.Code, w.Body)
	}
	doc := idOf(t, w)
	if w := e.call(t, "tok", "GET", contract.DocumentsPath+"?documentHolder="+c, "", nil); w.Code != 200 || !strings.Contains(w.Body.String(), doc) {
		t.Fatalf("list = %d %s", w.Code, w.Body)
	}

	// Another platform: every route answers as for an unknown id.
	unknownDoc, unknownVer := "Document:019542f5-b3e7-7d02-8000-00000000dead", "Verification:019542f5-b3e7-7d02-8000-00000000dead"
	unknownCustomer := "Customer:019542f5-b3e7-7d02-8000-00000000dead"
	pct, pbody := form(passportPNG, "documentType", "PASSPORT", "country", "US")
	sub := e.json(t, "tok", "POST", contract.VerificationsPath, `{"customerId":"`+c+`"}`)
	if sub.Code != 200 || !strings.Contains(sub.Body.String(), `"IN_PROGRESS"`) {
		t.Fatalf("complete submission = %d %s", sub.Code, sub.Body)
	}
	ver := idOf(t, sub)
	up := idOf(t, e.json(t, "tok", "POST", contract.DocumentUploadsPath, `{"documentHolder":"`+c+`"}`))
	for _, tc := range []struct {
		name           string
		other, unknown func() *httptest.ResponseRecorder
		wantStatus     int
	}{
		{"GET document", func() *httptest.ResponseRecorder {
			return e.call(t, "tok-q", "GET", contract.DocumentPath, "", nil, doc)
		},
			func() *httptest.ResponseRecorder {
				return e.call(t, "tok-q", "GET", contract.DocumentPath, "", nil, unknownDoc)
			}, 404},
		{"PUT document", func() *httptest.ResponseRecorder {
			return e.call(t, "tok-q", "PUT", contract.DocumentPath, pct, pbody, doc)
		},
			func() *httptest.ResponseRecorder {
				return e.call(t, "tok-q", "PUT", contract.DocumentPath, pct, pbody, unknownDoc)
			}, 404},
		{"DELETE document", func() *httptest.ResponseRecorder {
			return e.call(t, "tok-q", "DELETE", contract.DocumentPath, "", nil, doc)
		},
			func() *httptest.ResponseRecorder {
				return e.call(t, "tok-q", "DELETE", contract.DocumentPath, "", nil, unknownDoc)
			}, 404},
		{"upload for its customer", func() *httptest.ResponseRecorder {
			ct, b := form(passportPNG, "documentHolder", c, "documentType", "PASSPORT", "country", "US")
			return e.call(t, "tok-q", "POST", contract.DocumentsPath, ct, b)
		}, func() *httptest.ResponseRecorder {
			ct, b := form(passportPNG, "documentHolder", unknownCustomer, "documentType", "PASSPORT", "country", "US")
			return e.call(t, "tok-q", "POST", contract.DocumentsPath, ct, b)
		}, 404},
		{"list its customer's documents", func() *httptest.ResponseRecorder {
			return e.call(t, "tok-q", "GET", contract.DocumentsPath+"?documentHolder="+c, "", nil)
		}, func() *httptest.ResponseRecorder {
			return e.call(t, "tok-q", "GET", contract.DocumentsPath+"?documentHolder="+unknownCustomer, "", nil)
		}, 200},
		{"GET verification", func() *httptest.ResponseRecorder {
			return e.call(t, "tok-q", "GET", contract.VerificationPath, "", nil, ver)
		},
			func() *httptest.ResponseRecorder {
				return e.call(t, "tok-q", "GET", contract.VerificationPath, "", nil, unknownVer)
			}, 404},
		{"submit its customer", func() *httptest.ResponseRecorder {
			return e.json(t, "tok-q", "POST", contract.VerificationsPath, `{"customerId":"`+c+`"}`)
		}, func() *httptest.ResponseRecorder {
			return e.json(t, "tok-q", "POST", contract.VerificationsPath, `{"customerId":"`+unknownCustomer+`"}`)
		}, 404},
		{"list its customer's verifications", func() *httptest.ResponseRecorder {
			return e.call(t, "tok-q", "GET", contract.VerificationsPath+"?customerId="+c, "", nil)
		}, func() *httptest.ResponseRecorder {
			return e.call(t, "tok-q", "GET", contract.VerificationsPath+"?customerId="+unknownCustomer, "", nil)
		}, 200},
		{"direct upload for its customer", func() *httptest.ResponseRecorder {
			return e.json(t, "tok-q", "POST", contract.DocumentUploadsPath, `{"documentHolder":"`+c+`"}`)
		}, func() *httptest.ResponseRecorder {
			return e.json(t, "tok-q", "POST", contract.DocumentUploadsPath, `{"documentHolder":"`+unknownCustomer+`"}`)
		}, 404},
		{"complete its upload", func() *httptest.ResponseRecorder {
			return e.json(t, "tok-q", "POST", contract.DocumentUploadCompletePath, `{"documentType":"PASSPORT","country":"US"}`, up)
		}, func() *httptest.ResponseRecorder {
			return e.json(t, "tok-q", "POST", contract.DocumentUploadCompletePath, `{"documentType":"PASSPORT","country":"US"}`,
				"DocumentUpload:019542f5-b3e7-7d02-8000-00000000dead")
		}, 404},
	} {
		o, u := tc.other(), tc.unknown()
		if o.Code != tc.wantStatus || u.Code != tc.wantStatus || o.Body.String() != u.Body.String() {
			t.Errorf("%s: another platform's %d %s; unknown %d %s", tc.name, o.Code, o.Body, u.Code, u.Body)
		}
	}

	// The customer is under review; the document is the provider's.
	if w := e.json(t, "tok", "GET", contract.CustomerPath, "", c); !strings.Contains(w.Body.String(), `"kycStatus":"PENDING"`) {
		t.Errorf("customer after the submission: %s", w.Body)
	}
	if w := e.call(t, "tok", "DELETE", contract.DocumentPath, "", nil, doc); w.Code != 409 || !strings.Contains(w.Body.String(), "DOCUMENT_SUBMITTED") {
		t.Errorf("DELETE of a submitted document = %d %s", w.Code, w.Body)
	}
	if w := e.call(t, "tok", "PUT", contract.DocumentPath, pct, pbody, doc); w.Code != 409 {
		t.Errorf("PUT of a submitted document = %d %s", w.Code, w.Body)
	}
	if w := e.json(t, "tok", "POST", contract.VerificationsPath, `{"customerId":"`+c+`"}`); w.Code != 409 || !strings.Contains(w.Body.String(), "VERIFICATION_IN_PROGRESS") {
		t.Errorf("a second submission = %d %s", w.Code, w.Body)
	}

	// The file is in the bucket under the stack's key.
	s3c := s3Client(t, e.env)
	out, err := s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(e.env["DOCUMENTS_BUCKET"]), Prefix: aws.String("documents/")})
	if err != nil || len(out.Contents) != 1 {
		t.Fatalf("objects under documents/: %v %v", out, err)
	}
	head, err := s3c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(e.env["DOCUMENTS_BUCKET"]), Key: out.Contents[0].Key})
	if err != nil || head.ServerSideEncryption != "aws:kms" || aws.ToString(head.ContentType) != "image/png" {
		t.Errorf("the stored file: %v encryption %q type %q", err, head.ServerSideEncryption, aws.ToString(head.ContentType))
	}

	logs := e.logs.String()
	for _, secret := range []string{docNumber, docName, "SECRET-PASSPORT-IMAGE-BYTES", "111-22-3333"} {
		if strings.Contains(logs, secret) {
			t.Errorf("%q reached the log", secret)
		}
	}
}

func s3Client(t *testing.T, env map[string]string) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// TestDirectUploadOnMoto: a file over the inline limit goes to S3 with the
// presigned form (a real POST to moto), then completes into a Document;
// completing again answers the same; a text file, or nothing uploaded, is
// 400 naming the file.
func TestDirectUploadOnMoto(t *testing.T) {
	e := docsOnMoto(t)
	c := idOf(t, e.json(t, "tok", "POST", contract.CustomersPath, `{"customerType":"INDIVIDUAL","fullName":"Big File"}`))
	start := func(t *testing.T) (id string, post func(file []byte) int) {
		w := e.json(t, "tok", "POST", contract.DocumentUploadsPath, `{"documentHolder":"`+c+`"}`)
		var u struct {
			ID, URL string
			Fields  map[string]string
		}
		if err := json.Unmarshal(w.Body.Bytes(), &u); err != nil || w.Code != 201 {
			t.Fatalf("POST /document-uploads = %d %s", w.Code, w.Body)
		}
		return u.ID, func(file []byte) int {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			for k, v := range u.Fields {
				mw.WriteField(k, v)
			}
			fw, _ := mw.CreateFormFile("file", "big.pdf")
			fw.Write(file)
			mw.Close()
			resp, err := http.Post(u.URL, mw.FormDataContentType(), &b)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
	}
	meta := `{"documentType":"BANK_STATEMENT","country":"US","fileName":"statement.pdf"}`

	id, post := start(t)
	if w := e.json(t, "tok", "POST", contract.DocumentUploadCompletePath, meta, id); w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"file"`) {
		t.Errorf("completion before the upload = %d %s", w.Code, w.Body)
	}
	big := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 6<<20)...)
	if code := post(big); code/100 != 2 {
		t.Fatalf("POST to S3 = %d", code)
	}
	first := e.json(t, "tok", "POST", contract.DocumentUploadCompletePath, meta, id)
	again := e.json(t, "tok", "POST", contract.DocumentUploadCompletePath, meta, id)
	if first.Code != 201 || again.Code != 201 || first.Body.String() != again.Body.String() {
		t.Fatalf("completion = %d %s; again %d %s", first.Code, first.Body, again.Code, again.Body)
	}
	if w := e.call(t, "tok", "GET", contract.DocumentPath, "", nil, idOf(t, first)); w.Code != 200 {
		t.Errorf("GET the completed document = %d %s", w.Code, w.Body)
	}

	// moto does not enforce the form's content-length-range (FACTS.md):
	// the completion checks the size itself.
	id, post = start(t)
	if code := post(append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 10<<20)...)); code/100 != 2 {
		t.Fatalf("POST to S3 = %d", code)
	}
	if w := e.json(t, "tok", "POST", contract.DocumentUploadCompletePath, meta, id); w.Code != 400 || !strings.Contains(w.Body.String(), "10485760") {
		t.Errorf("completion of 10 MB + 9 bytes = %d %s", w.Code, w.Body)
	}

	id, post = start(t)
	if code := post([]byte("plain text named big.pdf")); code/100 != 2 {
		t.Fatalf("POST to S3 = %d", code)
	}
	if w := e.json(t, "tok", "POST", contract.DocumentUploadCompletePath, meta, id); w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"file"`) {
		t.Errorf("completion of a text file = %d %s", w.Code, w.Body)
	}
}

//go:build integration

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// subStack is the submission pipeline as deployed, on moto (template.yaml's
// tables, queues, keys, bucket and secrets) with a fake Sumsub: the
// platform function (its HTTP handler), the relay function's loops (the
// outbox's and the verifications' stream pollers, the relay code Lambda
// runs on each batch), and the submission function's Lambda handler, fed
// by subStack.eventSource as Lambda's SQS event source feeds it.
type subStack struct {
	env      map[string]string
	platform http.Handler
	relay    telemetry.Handler // the relay function's Lambda handler
	fake     *sumsubtest.Server
	logs     *logbuf.Buffer
	sqs      *sqs.Client
	queue    string // SUBMISSION_QUEUE_URL
	// loseDeletes is how many of the event source's next deletes never
	// happen (the message comes back: its visibility lapses at once).
	loseDeletes atomic.Int32
}

// The Sumsub credentials of the stack's secret, which the fake checks.
var subCreds = sumsub.Credentials{AppToken: "sbx:submit", SecretKey: "submit-secret"}

func newSubStack(t *testing.T) *subStack {
	t.Helper()
	moto := moto.Need(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the local relay's checkpoints
	fake := sumsubtest.NewServer(subCreds)
	t.Cleanup(fake.Close)
	signing, _ := newSigningKey(t)
	st := motostack.New(t, moto, motostack.Options{
		Only: []string{"CustomersTable", "IdempotencyTable", "PlatformsTable", "CustomerDataKey", "DocumentsTable", "VerificationsTable",
			"DocumentsBucket", "DocumentsKey", "WebhookOutboxTable", "WebhookQueue", "SubmissionQueue", "SubmissionDeadLetterQueue",
			"ApiTokensSecretArn", "SumsubSecretArn", "CursorKeySecret", "IdempotencyKeySecret", "WebhookSigningKeySecretArn"},
		Secrets: map[string]string{
			"ApiTokensSecretArn":         `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"` + auth.DigestHex("s") + `"}]}`,
			"SumsubSecretArn":            `{"appToken":"` + subCreds.AppToken + `","secretKey":"` + subCreds.SecretKey + `","webhookSecret":"w"}`,
			"WebhookSigningKeySecretArn": signing,
		},
	})
	// A failed job comes back after 1 s, 2 s, … (30 s, 60 s, … deployed).
	env := map[string]string{"KYC_BACKEND": "aws", "KYC_PROVIDER": "sumsub", "SUMSUB_BASE_URL": fake.URL, "SUBMISSION_RETRY_BASE": "1s"}
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
	s := &subStack{env: env, fake: fake, logs: &logbuf.Buffer{}, sqs: moto.SQS(), queue: env["SUBMISSION_QUEUE_URL"]}
	build := func(e app.Entry) *app.Service {
		svc, err := app.Build(context.Background(), cfg, s.logs.Logger(), e)
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	s.platform = build(app.PlatformFunction).Handler()
	relay, submit := build(app.RelayFunction), build(app.SubmissionFunction)
	s.relay = relay.LambdaHandler()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { relay.Run(ctx) })
	wg.Go(func() { s.eventSource(ctx, submit.LambdaHandler()) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return s
}

// eventSource is Lambda's SQS event source mapping of the submission
// function, as far as these tests need it: it receives one message at a
// time (the template's BatchSize), hidden for the queue's visibility
// timeout, invokes the function's Lambda handler with it as an SQS event
// under the function's 120 s, and deletes it unless the handler reports
// it failed (ReportBatchItemFailures; the handler has hidden it for its
// backoff). A lost delete leaves it, its visibility lapsing at once (the
// timeout passed): it comes back.
func (s *subStack) eventSource(ctx context.Context, h telemetry.Handler) {
	for ctx.Err() == nil {
		out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.queue), MaxNumberOfMessages: 1, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil || len(out.Messages) == 0 {
			if err != nil && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		m := out.Messages[0]
		payload, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body), Attributes: m.Attributes,
			EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:SubmissionQueue", AWSRegion: "us-east-1"}}})
		ictx, cancel := context.WithTimeout(ctx, 120*time.Second)
		answer, err := h.Invoke(ictx, payload)
		cancel()
		var resp events.SQSEventResponse
		if err != nil || json.Unmarshal(answer, &resp) != nil || len(resp.BatchItemFailures) > 0 {
			continue
		}
		if n := s.loseDeletes.Load(); n > 0 && s.loseDeletes.CompareAndSwap(n, n-1) {
			s.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(s.queue), ReceiptHandle: m.ReceiptHandle})
			continue
		}
		s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queue), ReceiptHandle: m.ReceiptHandle})
	}
}

// call sends a platform API request as platform p, checked against the
// contract.
func (s *subStack) call(t *testing.T, method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "http://api.test"+path, bytes.NewReader(body))
	r.SetBasicAuth("tok", "s")
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	s.platform.ServeHTTP(w, r)
	tmpl := path
	switch {
	case strings.HasPrefix(path, "/customers/"):
		tmpl = "/customers/{customerId}"
	case strings.HasPrefix(path, "/verifications/"):
		tmpl = "/verifications/{verificationId}"
	case strings.HasPrefix(path, "/documents/"):
		tmpl = "/documents/{documentId}"
	case strings.HasPrefix(path, "/beneficial-owners/"):
		tmpl = "/beneficial-owners/{beneficialOwnerId}"
	}
	if err := contract.CheckOperation(method, tmpl, w.Code, w.Header(), w.Body.Bytes()); err != nil {
		t.Error(err)
	}
	return w
}

// subDoc is a document to upload: its type, side, country and file.
type subDoc struct {
	typ, side, country string
	file               []byte
}

// The customer the submission tests verify (Grid's example individual),
// and what of it is personal (never to be logged).
const (
	subCustomer = `{"customerType":"INDIVIDUAL","platformCustomerId":"%s","region":"US",
  "fullName":"Jane Smith","birthDate":"1990-01-15","nationality":"US",
  "email":"jane.smith@example.com","phoneNumber":"+14155551234","idType":"SSN","identifier":"123-45-6789",
  "address":{"line1":"123 Market Street","line2":"Suite 400","city":"Seattle","state":"WA","postalCode":"98101","country":"US"}}`
	subIdentifier = "123-45-6789"
)

// licence is a driver's licence, both sides (two documents), each file
// distinct to the customer (Sumsub refuses a file an applicant has).
func licence(tag string) []subDoc {
	return []subDoc{
		{"DRIVERS_LICENSE", "FRONT", "US", []byte("\x89PNG\r\n\x1a\nFRONT-OF-THE-LICENCE-" + tag)},
		{"DRIVERS_LICENSE", "BACK", "US", []byte("\x89PNG\r\n\x1a\nBACK-OF-THE-LICENCE-" + tag + "-longer")},
	}
}

// verify creates a customer (platformCustomerId pcid), uploads docs and
// submits it: the verification answered IN_PROGRESS. It returns the
// customer's, the documents' and the verification's ids.
func (s *subStack) verify(t *testing.T, pcid string, docs []subDoc) (customer string, documents []string, verification string) {
	t.Helper()
	w := s.call(t, "POST", "/customers", "application/json", fmt.Appendf(nil, subCustomer, pcid))
	if w.Code != 201 {
		t.Fatalf("create customer = %d %s", w.Code, w.Body)
	}
	customer = jsonField(t, w.Body.Bytes(), "id")
	for _, d := range docs {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for _, kv := range [][2]string{{"documentType", d.typ}, {"country", d.country}, {"documentHolder", customer}, {"side", d.side}} {
			mw.WriteField(kv[0], kv[1])
		}
		fw, _ := mw.CreateFormFile("file", "licence.png")
		fw.Write(d.file)
		mw.Close()
		w := s.call(t, "POST", "/documents", mw.FormDataContentType(), b.Bytes())
		if w.Code != 201 {
			t.Fatalf("upload = %d %s", w.Code, w.Body)
		}
		documents = append(documents, jsonField(t, w.Body.Bytes(), "id"))
	}
	w = s.call(t, "POST", "/verifications", "application/json", []byte(`{"customerId":"`+customer+`"}`))
	if w.Code != 200 || jsonField(t, w.Body.Bytes(), "verificationStatus") != "IN_PROGRESS" {
		t.Fatalf("verification = %d %s; want 200 IN_PROGRESS", w.Code, w.Body)
	}
	return customer, documents, jsonField(t, w.Body.Bytes(), "id")
}

func jsonField(t *testing.T, body []byte, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	v, _ := m[field].(string)
	return v
}

// eventually waits up to 30 s for ok.
func eventually(t *testing.T, what string, ok func() bool, logs fmt.Stringer) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 30 s; log:\n%s", what, logs)
		}
	}
}

// attempts are the submission function's lines for verification id (or
// message id), each "outcome@attempt".
func (s *subStack) attempts(key string) []string {
	var out []string
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["msg"] != "submission" || l["verification_id"] != key && l["message_id"] != key {
			continue
		}
		out = append(out, fmt.Sprintf("%v@%v", l["outcome"], l["attempt"]))
	}
	return out
}

// finished waits until verification id's job has logged its final
// outcome: the last line's outcome is want.
func (s *subStack) finished(t *testing.T, id, want string) []string {
	t.Helper()
	var got []string
	eventually(t, "verification "+id+"'s job ends "+want, func() bool {
		got = s.attempts(id)
		return len(got) > 0 && strings.HasPrefix(got[len(got)-1], want+"@")
	}, s.logs)
	return got
}

// marked reads verification id's item: its status and whether the
// submission marked it.
func (s *subStack) marked(t *testing.T, id string) (string, bool) {
	t.Helper()
	out, err := moto.DynamoDB().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(s.env["VERIFICATIONS_TABLE"]),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	status, _ := out.Item["verificationStatus"].(*types.AttributeValueMemberS)
	_, ok := out.Item["submittedAtMs"]
	if status == nil {
		return "", ok
	}
	return status.Value, ok
}

// wantAtSumsub: customer's applicant holds exactly the example
// individual's data, the documents docs once each, and its review asked
// for.
func (s *subStack) wantAtSumsub(t *testing.T, customer string, docs []subDoc) {
	t.Helper()
	a, ok := s.fake.Applicant(customer)
	if !ok {
		t.Fatalf("Sumsub has no applicant %s", customer)
	}
	want := map[string]any{"firstName": "Jane", "lastName": "Smith", "dob": "1990-01-15", "country": "USA", "nationality": "USA",
		"tin": subIdentifier, "addresses": []any{map[string]any{"street": "123 Market Street", "subStreet": "Suite 400", "town": "Seattle",
			"state": "WA", "postCode": "98101", "country": "USA"}}}
	if diff := cmp.Diff(want, a.FixedInfo); diff != "" {
		t.Errorf("the applicant's data (-want +got):\n%s", diff)
	}
	if a.LevelName != "basic-kyc-level" || a.Type != "individual" || a.Email != "jane.smith@example.com" || a.Phone != "+14155551234" {
		t.Errorf("applicant %+v; want individual at basic-kyc-level with the customer's email and phone", a)
	}
	var wantDocs []sumsubtest.Doc
	for _, d := range docs {
		wantDocs = append(wantDocs, sumsubtest.Doc{IDDocType: "DRIVERS", IDDocSubType: map[string]string{"FRONT": "FRONT_SIDE", "BACK": "BACK_SIDE"}[d.side],
			Country: "USA", Size: len(d.file), ContentType: "image/png", Active: true})
	}
	if diff := cmp.Diff(wantDocs, s.fake.Docs(a.ID)); diff != "" {
		t.Errorf("the applicant's documents, each once (-want +got):\n%s", diff)
	}
	if a.ReviewStatus != "pending" {
		t.Errorf("review status %q; want pending (the review asked for)", a.ReviewStatus)
	}
}

// sumsubCalls are the fake's accepted requests from the from-th on, as
// "METHOD path", customer's applicant id written {id}.
func (s *subStack) sumsubCalls(customer string, from int) []string {
	a, _ := s.fake.Applicant(customer)
	var out []string
	for _, r := range s.fake.Accepted()[from:] {
		out = append(out, r.Method+" "+strings.ReplaceAll(r.Path, a.ID, "{id}"))
	}
	return out
}

// TestSubmissionOnMoto: a complete verification written through the
// platform API reaches Sumsub through the verifications stream, the relay,
// the submission queue and the submission function, exactly as expected:
// the applicant with the customer's data (its identifier opened with KMS
// under the customer's context), each document once, the review asked
// for, in four calls; the verification stays IN_PROGRESS, marked; one log
// line says so and nothing personal is logged. A refusal of a document
// sends the verification back to RESOLVE_ERRORS and the customer to
// UNVERIFIED, with VERIFICATION.RESOLVE_ERRORS in the outbox. A message
// for a verification submitted or decided does nothing; a poison message
// (an unknown verification, a body that is no job) is acknowledged, not
// retried.
func TestSubmissionOnMoto(t *testing.T) {
	s := newSubStack(t)
	var submitted, refused string

	t.Run("reaches Sumsub", func(t *testing.T) {
		docs := licence("a")
		from := len(s.fake.Accepted())
		customer, _, v := s.verify(t, "sub-a", docs)
		submitted = v
		if got := s.finished(t, v, "submitted"); !slices.Equal(got, []string{"submitted@1"}) {
			t.Errorf("attempts %v; want one, submitted", got)
		}
		s.wantAtSumsub(t, customer, docs)
		want := []string{"POST " + sumsubtest.ApplicantsPath, "POST /resources/applicants/{id}/info/idDoc",
			"POST /resources/applicants/{id}/info/idDoc", "POST /resources/applicants/{id}/status/pending"}
		if got := s.sumsubCalls(customer, from); !slices.Equal(got, want) {
			t.Errorf("calls to Sumsub %v; want %v", got, want)
		}
		if status, ok := s.marked(t, v); status != "IN_PROGRESS" || !ok {
			t.Errorf("verification %s, marked %v; want IN_PROGRESS, marked submitted", status, ok)
		}
		if w := s.call(t, "GET", "/customers/"+customer, "", nil); jsonField(t, w.Body.Bytes(), "kycStatus") != "PENDING" {
			t.Errorf("customer %s; want PENDING (under review)", w.Body)
		}
	})

	t.Run("refused", func(t *testing.T) {
		s.fake.RefuseNextDoc(sumsubtest.DocRefusal{Errors: []any{"dataNotReadable"}})
		customer, docs, v := s.verify(t, "sub-refused", licence("refused"))
		refused = v
		s.finished(t, v, "refused")
		w := s.call(t, "GET", "/verifications/"+v, "", nil)
		var got struct {
			VerificationStatus string
			Errors             []struct{ ResourceID, Type string }
		}
		json.Unmarshal(w.Body.Bytes(), &got)
		if got.VerificationStatus != "RESOLVE_ERRORS" || len(got.Errors) != 1 || got.Errors[0].Type != "UNREADABLE_DOCUMENT" || got.Errors[0].ResourceID != docs[0] {
			t.Errorf("verification %s; want RESOLVE_ERRORS, UNREADABLE_DOCUMENT on %s", w.Body, docs[0])
		}
		if w := s.call(t, "GET", "/customers/"+customer, "", nil); jsonField(t, w.Body.Bytes(), "kycStatus") != "UNVERIFIED" {
			t.Errorf("customer %s; want UNVERIFIED (nothing under review)", w.Body)
		}
		if _, ok := s.marked(t, v); ok {
			t.Error("a refused verification is marked submitted")
		}
		out, err := moto.DynamoDB().Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.env["WEBHOOK_OUTBOX_TABLE"])})
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, item := range out.Items {
			n, err := awsstore.NoticeFromOutbox(item)
			if err == nil && bytes.Contains(n.Body, []byte(`"type":"VERIFICATION.RESOLVE_ERRORS"`)) && bytes.Contains(n.Body, []byte(v)) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%d VERIFICATION.RESOLVE_ERRORS notices of %s in the outbox; want 1", found, v)
		}
	})

	t.Run("submitted or decided does nothing", func(t *testing.T) {
		before := len(s.fake.Accepted())
		for _, v := range []string{submitted, refused} {
			s.send(t, `{"verificationId":"`+v+`"}`)
		}
		for _, v := range []string{submitted, refused} {
			got := s.finished(t, v, "nothing_to_do")
			if last := got[len(got)-1]; last != "nothing_to_do@1" {
				t.Errorf("%s: %v; want nothing to do at once", v, got)
			}
		}
		if after := len(s.fake.Accepted()); after != before {
			t.Errorf("%d calls to Sumsub for jobs with nothing to do", after-before)
		}
	})

	t.Run("poison messages are acknowledged", func(t *testing.T) {
		s.send(t, `{"verificationId":"Verification:019ac0de-0000-7000-8000-000000000000"}`)
		s.finished(t, "Verification:019ac0de-0000-7000-8000-000000000000", "nothing_to_do")
		id := s.send(t, `not a job`)
		eventually(t, "the unreadable message's line", func() bool { return slices.Equal(s.attempts(id), []string{"unreadable@1"}) }, s.logs)
		s.drained(t)
	})

	t.Run("the relay's Lambda handler", func(t *testing.T) {
		// As the event source hands it the verifications stream's
		// records: only a complete verification's INSERT is queued; a
		// record of a table the function was not configured with fails
		// the batch.
		arn := "arn:aws:dynamodb:us-east-1:123456789012:table/" + s.env["VERIFICATIONS_TABLE"] + "/stream/2026-12-01T00:00:00.000"
		image := func(id, status string) map[string]events.DynamoDBAttributeValue {
			return map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute(id), "verificationStatus": events.NewStringAttribute(status)}
		}
		const queued, other = "Verification:019ac0de-0000-7000-8000-00000000000a", "Verification:019ac0de-0000-7000-8000-00000000000b"
		ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
			{EventName: "INSERT", EventSourceArn: arn, Change: events.DynamoDBStreamRecord{NewImage: image(queued, "IN_PROGRESS")}},
			{EventName: "INSERT", EventSourceArn: arn, Change: events.DynamoDBStreamRecord{NewImage: image(other, "RESOLVE_ERRORS")}},
			{EventName: "MODIFY", EventSourceArn: arn, Change: events.DynamoDBStreamRecord{OldImage: image(other, "IN_PROGRESS"), NewImage: image(other, "IN_PROGRESS")}},
		}}
		payload, _ := json.Marshal(ev)
		if _, err := s.relay.Invoke(context.Background(), payload); err != nil {
			t.Fatalf("relay: %v", err)
		}
		s.finished(t, queued, "nothing_to_do")
		if got := s.attempts(other); len(got) != 0 {
			t.Errorf("a job ran for records that start none: %v", got)
		}
		ev.Records[0].EventSourceArn = "arn:aws:dynamodb:us-east-1:123456789012:table/another/stream/2026-12-01T00:00:00.000"
		payload, _ = json.Marshal(ev)
		if _, err := s.relay.Invoke(context.Background(), payload); err == nil || !strings.Contains(err.Error(), "another") {
			t.Errorf("a record of another table: %v; want the batch failed, naming it", err)
		}
	})

	for _, personal := range []string{subIdentifier, "Jane Smith", "1990-01-15", "jane.smith@example.com", "+14155551234", "Market Street"} {
		if strings.Contains(s.logs.String(), personal) {
			t.Errorf("%q reached the log", personal)
		}
	}
}

// send queues body on the submission queue and returns its message id.
func (s *subStack) send(t *testing.T, body string) string {
	t.Helper()
	out, err := s.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(s.queue), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.MessageId)
}

// drained waits until the submission queue holds no message, visible or
// not: every job was acknowledged.
func (s *subStack) drained(t *testing.T) {
	t.Helper()
	eventually(t, "the submission queue empties", func() bool {
		out, err := s.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.queue),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		return err == nil && out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
	}, s.logs)
}

// TestSubmissionSurvivesACrashBetweenSteps: the job crashes (its attempt
// fails) after each step of the submission in turn, the step itself
// having happened: after the applicant's creation, after each document's
// upload, after the review's request (before the mark), after the mark
// (before the queue's delete). Each time the message comes back and the
// job's next attempt completes: Sumsub ends with one applicant, each
// document once, the review asked for, and the verification marked.
func TestSubmissionSurvivesACrashBetweenSteps(t *testing.T) {
	s := newSubStack(t)
	// lose makes the step's request happen and its answer get lost, and
	// the client's own retry of it fail: the attempt fails after the
	// step.
	lose := func(method, suffix string) {
		s.fake.LoseNextAnswer(method, suffix, http.StatusServiceUnavailable)
		s.fake.FailNext(method, suffix, http.StatusServiceUnavailable)
	}
	// loseNth does so for the nth upload from now on.
	loseNth := func(n int) {
		var uploads atomic.Int32
		s.fake.SetFail(func(_ http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, sumsubtest.IDDocSuffix) && uploads.Add(1) == int32(n) {
				lose(http.MethodPost, sumsubtest.IDDocSuffix)
			}
			return false
		})
	}
	for i, tc := range []struct {
		name  string
		crash func()
		want  []string // the job's attempts
	}{
		{"after the applicant's creation", func() { lose(http.MethodPost, sumsubtest.ApplicantsPath) }, []string{"failed@1", "submitted@2"}},
		// The next attempt uploads the file again: Sumsub answers that it
		// has it (duplicate-document), which is no refusal.
		{"after the first document's upload", func() { loseNth(1) }, []string{"failed@1", "submitted@2"}},
		{"after the second document's upload", func() { loseNth(2) }, []string{"failed@1", "submitted@2"}},
		{"after the review's request, before the mark", func() { lose(http.MethodPost, sumsubtest.PendingSuffix) }, []string{"failed@1", "submitted@2"}},
		{"after the mark, before the queue's delete", func() { s.loseDeletes.Store(1) }, []string{"submitted@1", "nothing_to_do@2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer s.fake.SetFail(nil)
			tc.crash()
			docs := licence(fmt.Sprint("crash-", i))
			customer, _, v := s.verify(t, fmt.Sprint("sub-crash-", i), docs)
			last, _, _ := strings.Cut(tc.want[len(tc.want)-1], "@")
			if got := s.finished(t, v, last); !slices.Equal(got, tc.want) {
				t.Errorf("attempts %v; want %v", got, tc.want)
			}
			s.wantAtSumsub(t, customer, docs)
			if status, ok := s.marked(t, v); status != "IN_PROGRESS" || !ok {
				t.Errorf("verification %s, marked %v; want IN_PROGRESS, marked submitted", status, ok)
			}
		})
	}
	s.drained(t)
}

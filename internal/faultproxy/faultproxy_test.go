package faultproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// emulator stands in for moto: it answers DynamoDB, SES v2 SendEmail and
// SNS Publish as AWS does, and counts the requests it got.
type emulator struct {
	*httptest.Server
	got    atomic.Int64
	mu     sync.Mutex
	bodies []string
}

func newEmulator(t *testing.T) *emulator {
	e := &emulator{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.bodies = append(e.bodies, string(body))
		e.mu.Unlock()
		e.got.Add(1)
		switch {
		case r.Header.Get("X-Amz-Target") != "":
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			io.WriteString(w, `{}`)
		case r.URL.Path == "/v2/email/outbound-emails":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"MessageId":"m-1"}`)
		default:
			w.Header().Set("Content-Type", "text/xml")
			io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult>`+
				`<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`)
		}
	}))
	t.Cleanup(e.Close)
	return e
}

// clients are SDK clients pointed at the proxy, with no retries.
type clients struct {
	db  *dynamodb.Client
	ses *sesv2.Client
	sns *sns.Client
}

func newClients(p *Proxy) clients {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(p.URL), RetryMaxAttempts: 1}
	return clients{db: dynamodb.NewFromConfig(cfg), ses: sesv2.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg)}
}

func (c clients) getItem() error {
	_, err := c.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}})
	return err
}

func (c clients) sendEmail() error {
	_, err := c.ses.SendEmail(context.Background(), &sesv2.SendEmailInput{FromEmailAddress: aws.String("from@example.com"),
		Destination: &sestypes.Destination{ToAddresses: []string{"to@example.com"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String("s")},
			Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("the text")}}}}})
	return err
}

func (c clients) publish() error {
	_, err := c.sns.Publish(context.Background(), &sns.PublishInput{PhoneNumber: aws.String("+4915112345678"), Message: aws.String("the text")})
	return err
}

// code is the AWS error code and HTTP status the SDK read from err.
func code(t *testing.T, err error) (string, int) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("%v: not an AWS error the SDK read", err)
	}
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return api.ErrorCode(), status
}

// TestOperationsAreNamedPerProtocol: a JSON protocol call is named by its
// X-Amz-Target, SES v2 SendEmail (REST) "ses.SendEmail", SNS Publish
// (Query) "sns.Publish"; Set and Count match an operation's name or its
// service's prefix, and a fault set for one leaves the others alone.
func TestOperationsAreNamedPerProtocol(t *testing.T) {
	p := New(t, newEmulator(t).URL)
	c := newClients(p)
	if err := errors.Join(c.getItem(), c.sendEmail(), c.publish()); err != nil {
		t.Fatal(err)
	}
	for op, want := range map[string]int{"GetItem": 1, "DynamoDB_20120810": 1, "SendEmail": 1, "ses": 1, "ses.SendEmail": 1,
		"Publish": 1, "sns": 1, "sns.Publish": 1, "secretsmanager": 0, "PutItem": 0} {
		if got := p.Count(op); got != want {
			t.Errorf("Count(%q) = %d; want %d", op, got, want)
		}
	}
	p.Set("Publish", Fail5xx)
	if err := errors.Join(c.getItem(), c.sendEmail()); err != nil {
		t.Fatalf("a fault on Publish reached another operation: %v", err)
	}
	if c.publish() == nil {
		t.Fatal("Publish passed with a fault set on it")
	}
	p.Set("Publish", Pass)
	p.Set("ses", Down)
	if c.sendEmail() == nil || c.publish() != nil {
		t.Fatal(`Set("ses") did not fault SendEmail alone`)
	}
}

// TestFaultsAreFramedPerProtocol: the SDK reads the fault's code (and
// status) as it would read AWS's: DynamoDB's ThrottlingException; SES
// v2's TooManyRequestsException (429), InternalFailure (500) and
// MessageRejected (its modelled error); SNS's Throttling, InternalError
// (500) and AuthorizationError (its modelled error).
func TestFaultsAreFramedPerProtocol(t *testing.T) {
	p := New(t, newEmulator(t).URL)
	c := newClients(p)
	for _, tc := range []struct {
		op     string
		mode   Mode
		call   func() error
		code   string
		status int
	}{
		{"GetItem", Throttle, c.getItem, "ThrottlingException", 400},
		{"GetItem", Fail5xx, c.getItem, "InternalServerError", 500},
		{"GetItem", Code("AccessDeniedException"), c.getItem, "AccessDeniedException", 400},
		{"SendEmail", Throttle, c.sendEmail, "TooManyRequestsException", 429},
		{"SendEmail", Fail5xx, c.sendEmail, "InternalFailure", 500},
		{"SendEmail", Code("MessageRejected"), c.sendEmail, "MessageRejected", 400},
		{"SendEmail", Code("AccessDeniedException"), c.sendEmail, "AccessDeniedException", 400},
		{"Publish", Throttle, c.publish, "Throttling", 400},
		{"Publish", Fail5xx, c.publish, "InternalError", 500},
		{"Publish", Code("AuthorizationError"), c.publish, "AuthorizationError", 400},
	} {
		p.Set(tc.op, tc.mode)
		err := tc.call()
		p.Set(tc.op, Pass)
		if got, status := code(t, err); got != tc.code || status != tc.status {
			t.Errorf("%s %s: the SDK read %s (%d); want %s (%d)", tc.op, tc.mode, got, status, tc.code, tc.status)
		}
	}
	p.Set("SendEmail", Code("MessageRejected"))
	var rejected *sestypes.MessageRejected
	if err := c.sendEmail(); !errors.As(err, &rejected) {
		t.Errorf("SES v2 MessageRejected: %v; want its modelled error", err)
	}
	p.Set("SendEmail", Pass)
	p.Set("Publish", Code("AuthorizationError"))
	var denied *snstypes.AuthorizationErrorException
	if err := c.publish(); !errors.As(err, &denied) {
		t.Errorf("SNS AuthorizationError: %v; want its modelled error", err)
	}
}

// TestRecordKeepsWhatTheEmulatorGot: a recorded operation's requests
// reach the emulator with their bodies intact (the Query protocol's body
// is read to name it), and are kept with the emulator's status, those
// whose answer the proxy lost included; others are not kept.
func TestRecordKeepsWhatTheEmulatorGot(t *testing.T) {
	emu := newEmulator(t)
	p := New(t, emu.URL)
	c := newClients(p)
	p.Record("sns.Publish")
	p.Record("SendEmail")
	if err := errors.Join(c.publish(), c.sendEmail(), c.getItem()); err != nil {
		t.Fatal(err)
	}
	p.Set("Publish", LoseAnswerOnce)
	if c.publish() == nil {
		t.Fatal("the lost answer reached the caller")
	}
	pub, mail := p.Recorded("Publish"), p.Recorded("ses")
	if len(pub) != 2 || len(mail) != 1 || len(p.Recorded("GetItem")) != 0 {
		t.Fatalf("kept %d Publish, %d SendEmail, %d GetItem; want 2, 1, 0", len(pub), len(mail), len(p.Recorded("GetItem")))
	}
	for _, x := range pub {
		form, err := url.ParseQuery(string(x.Body))
		if err != nil || x.Op != "sns.Publish" || x.Status != 200 || form.Get("PhoneNumber") != "+4915112345678" || form.Get("Message") != "the text" {
			t.Errorf("kept %s %d %q (%v)", x.Op, x.Status, x.Body, err)
		}
	}
	if x := mail[0]; x.Op != "ses.SendEmail" || x.Status != 200 || !strings.Contains(string(x.Body), `"the text"`) {
		t.Errorf("kept %s %d %q", x.Op, x.Status, x.Body)
	}
	emu.mu.Lock()
	defer emu.mu.Unlock()
	if len(emu.bodies) != 4 || !strings.Contains(emu.bodies[0], "Action=Publish") || !strings.Contains(emu.bodies[0], "PhoneNumber=%2B4915112345678") {
		t.Fatalf("the emulator got %q", emu.bodies)
	}
}

// TestHoldAnswersLetsNReadTheSameState: with HoldAnswers(op, sub, n), n
// requests side by side all reach the emulator before any caller gets its
// answer; a request whose body lacks sub, and the (n+1)-th, pass at once.
func TestHoldAnswersLetsNReadTheSameState(t *testing.T) {
	emu := newEmulator(t)
	p := New(t, emu.URL)
	c := newClients(p)
	const n = 8
	p.HoldAnswers("GetItem", `"S":"k"`, n)
	other := func() error {
		_, err := c.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"),
			Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "other"}}})
		return err
	}
	if err := other(); err != nil || emu.got.Load() != 1 {
		t.Fatalf("a request without sub: %v, the emulator got %d; want it passed", err, emu.got.Load())
	}
	seen := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := c.getItem(); err != nil {
				t.Error(err)
			}
			seen[i] = emu.got.Load()
		})
	}
	wg.Wait()
	for i, s := range seen {
		if s != n+1 {
			t.Errorf("caller %d got its answer when the emulator had %d requests; want all %d", i, s, n+1)
		}
	}
	if err := c.getItem(); err != nil || emu.got.Load() != n+2 {
		t.Fatalf("the request after the held ones: %v, the emulator got %d", err, emu.got.Load())
	}
}

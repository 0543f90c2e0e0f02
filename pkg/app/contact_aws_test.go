//go:build integration

package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/internal/faultproxy"
	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/internal/storetest"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// contactEnv is the platform function as deployed (the Lambda defaults:
// Sumsub provider, so codes are random; contact verification required in
// the EEA on email and phone), on moto: the customers, idempotency,
// platforms and contact codes tables, the KMS key, the secrets (the
// contact code key among them), a verified SES identity to send from, and
// tokens for platforms p ("tok") and q ("tok-q"). The function reaches
// every AWS service through a fault proxy in front of moto, which keeps
// the SES SendEmail and SNS Publish requests moto received: codes are read
// from the messages moto accepted (see received). Every code read and
// every address and number used is checked, when the test ends, to appear
// in no log line.
type contactEnv struct {
	h      http.Handler
	logs   *logbuf.Buffer
	proxy  *faultproxy.Proxy
	table  string // the contact codes table
	from   string
	mu     sync.Mutex
	secret []string // codes, addresses and numbers: never in a log
}

// contactOnMoto builds the environment.
func contactOnMoto(t testing.TB) *contactEnv {
	t.Helper()
	moto := moto.Need(t)
	e := &contactEnv{from: "codes-" + contactUniq() + "@kyc-link.test"}
	// moto's SES, like SES in its sandbox, sends only from a verified
	// identity (MessageRejected otherwise); v2 CreateEmailIdentity
	// verifies an address at once.
	if _, err := sesv2.NewFromConfig(moto.Config()).CreateEmailIdentity(context.Background(),
		&sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(e.from)}); err != nil {
		t.Fatal(err)
	}
	signing, _ := newSigningKey(t)
	st := motostack.New(t, moto, motostack.Options{
		Only: []string{"CustomersTable", "IdempotencyTable", "PlatformsTable", "ContactCodesTable", "CustomerDataKey",
			"ApiTokensSecretArn", "CursorKeySecret", "IdempotencyKeySecret", "WebhookSigningKeySecretArn", "ContactCodeKeySecret"},
		Secrets: map[string]string{
			"ApiTokensSecretArn": `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"` + auth.DigestHex("s") + `"},` +
				`{"id":"tok-q","platformId":"q","secretSha256":"` + auth.DigestHex("s") + `"}]}`,
			"WebhookSigningKeySecretArn": signing,
		},
	})
	e.table = st.Names["ContactCodesTable"]
	env := map[string]string{"KYC_BACKEND": "aws", "CONTACT_EMAIL_FROM": e.from}
	maps.Copy(env, st.Env)
	if env["CONTACT_CODES_TABLE"] != e.table || env["CONTACT_CODE_KEY_SECRET_ID"] == "" {
		t.Fatalf("the stack's environment has CONTACT_CODES_TABLE %q, CONTACT_CODE_KEY_SECRET_ID %q", env["CONTACT_CODES_TABLE"], env["CONTACT_CODE_KEY_SECRET_ID"])
	}
	e.proxy = faultproxy.New(t, moto.URL)
	e.proxy.Record("ses.SendEmail")
	e.proxy.Record("sns.Publish")
	env["AWS_ENDPOINT_URL"] = e.proxy.URL
	for k, v := range env {
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Provider != app.ProviderSumsub {
		t.Fatalf("provider %q; these tests need the deployed one (random codes)", cfg.Provider)
	}
	e.logs = &logbuf.Buffer{}
	svc, err := app.Build(context.Background(), cfg, e.logs.Logger(), app.PlatformFunction)
	if err != nil {
		t.Fatal(err)
	}
	e.h = svc.Handler()
	t.Cleanup(func() { e.checkLogs(t) })
	return e
}

var contactSeq atomic.Int64

// uniq is a token no other call in this process gives (the moto server
// outlives tests and -count passes).
func contactUniq() string { return fmt.Sprintf("%d-%d", contactSeq.Add(1), rand.IntN(1_000_000)) }

// keep records s (a code, an address or a number) as never to be logged.
func (e *contactEnv) keep(s ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secret = append(e.secret, s...)
}

// checkLogs fails t if a code, address or number kept reached the log,
// as it is or percent-encoded. A code counts where it stands on its own:
// not inside a longer run of digits and letters (an id, a timestamp).
func (e *contactEnv) checkLogs(t testing.TB) {
	logs := e.logs.String()
	if !strings.Contains(logs, `"channel":"`) {
		t.Errorf("no log line names a contact channel; the log check would prove nothing:\n%s", logs)
	}
	// Percent-escapes read as a separator: "%22123456%22" holds the code.
	unescaped := regexp.MustCompile(`%[0-9A-Fa-f]{2}`).ReplaceAllString(logs, " ")
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.secret {
		switch {
		case len(s) == kyc.CodeDigits && strings.Trim(s, "0123456789") == "":
			alone := regexp.MustCompile(`(^|[^0-9A-Za-z])` + s + `([^0-9A-Za-z]|$)`)
			if alone.MatchString(logs) || alone.MatchString(unescaped) {
				t.Errorf("the code %s reached the log:\n%s", s, logs)
			}
		case strings.HasPrefix(s, "+"):
			if strings.Contains(logs, s[1:]) { // with or without the +, or %2B
				t.Errorf("the phone number %s reached the log:\n%s", s, logs)
			}
		default:
			lower := strings.ToLower(logs)
			if strings.Contains(lower, strings.ToLower(s)) || strings.Contains(lower, strings.ToLower(url.QueryEscape(s))) {
				t.Errorf("the address %s reached the log:\n%s", s, logs)
			}
		}
	}
}

// call makes a platform API call on the path template tmpl (a contract
// path) for customer id, and checks the answer against the contract.
func (e *contactEnv) call(t *testing.T, token, method, tmpl, id, body string) *httptest.ResponseRecorder {
	t.Helper()
	w := platformCall(e.h, token, method, strings.ReplaceAll(tmpl, "{customerId}", id), body)
	if err := contract.CheckOperation(method, tmpl, w.Code, w.Header(), w.Body.Bytes()); err != nil {
		t.Error(err)
	}
	return w
}

// contactCustomer is what the tests read of a customer answer.
type contactCustomer struct {
	ID                  string
	Email, PhoneNumber  string
	ContactVerification *struct{ Email, Phone string }
}

func (c contactCustomer) states() string {
	if c.ContactVerification == nil {
		return "none"
	}
	return fmt.Sprintf("email %q phone %q", c.ContactVerification.Email, c.ContactVerification.Phone)
}

func readContactCustomer(t *testing.T, w *httptest.ResponseRecorder) contactCustomer {
	t.Helper()
	var c contactCustomer
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	return c
}

// create makes platform p's individual customer in region with a fresh
// email address and phone number, and answers it.
func (e *contactEnv) create(t *testing.T, region string) contactCustomer {
	t.Helper()
	email := "c-" + contactUniq() + "@example.com"
	phone := fmt.Sprintf("+49151%08d", contactSeq.Add(1)*7919%100_000_000)
	e.keep(email, phone)
	w := e.call(t, "tok", "POST", contract.CustomersPath, "",
		`{"customerType":"INDIVIDUAL","region":"`+region+`","email":"`+email+`","phoneNumber":"`+phone+`"}`)
	if w.Code != 201 {
		t.Fatalf("create in %s = %d %s", region, w.Code, w.Body)
	}
	c := readContactCustomer(t, w)
	if c.Email != email || c.PhoneNumber != phone {
		t.Fatalf("created %+v; want email %s, phone %s", c, email, phone)
	}
	return c
}

// send posts verify-email or verify-phone.
func (e *contactEnv) send(t *testing.T, token, id string, ch kyc.Channel) *httptest.ResponseRecorder {
	t.Helper()
	return e.call(t, token, "POST", sendPath(ch), id, "")
}

// sent posts verify-email or verify-phone, wants its 204 (no body, no
// Content-Type), and answers the code moto received: the newest message
// to the customer's address or number, which must be the n-th.
func (e *contactEnv) sent(t *testing.T, c contactCustomer, ch kyc.Channel, n int) string {
	t.Helper()
	w := e.send(t, "tok", c.ID, ch)
	if w.Code != 204 || w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
		t.Fatalf("verify-%s = %d %v %q; want 204 with no body and no Content-Type", ch, w.Code, w.Header(), w.Body)
	}
	codes := e.received(t, contactTo(c, ch))
	if len(codes) != n {
		t.Fatalf("moto received %d messages to the customer's %s; want %d", len(codes), ch, n)
	}
	return codes[n-1]
}

// confirm posts the code to verify-email/confirm or verify-phone/confirm.
func (e *contactEnv) confirm(t *testing.T, token, id string, ch kyc.Channel, code string) *httptest.ResponseRecorder {
	t.Helper()
	return e.call(t, token, "POST", confirmPath(ch), id, `{"code":"`+code+`"}`)
}

// confirmed confirms the right code and wants 200 with ch VERIFIED.
func (e *contactEnv) confirmed(t *testing.T, c contactCustomer, ch kyc.Channel, code string) contactCustomer {
	t.Helper()
	w := e.confirm(t, "tok", c.ID, ch, code)
	if w.Code != 200 {
		t.Fatalf("confirm %s with the code moto received = %d %s; want 200", ch, w.Code, w.Body)
	}
	got := readContactCustomer(t, w)
	if got.ID != c.ID || contactState(got, ch) != kyc.ContactVerified {
		t.Fatalf("confirm %s answered %s (%s); want %s VERIFIED", ch, got.ID, got.states(), ch)
	}
	return got
}

// refused confirms code and wants 400 naming code.
func (e *contactEnv) refused(t *testing.T, c contactCustomer, ch kyc.Channel, code, why string) {
	t.Helper()
	wantContactError(t, e.confirm(t, "tok", c.ID, ch, code), 400, "INVALID_INPUT", "field", "code", why)
}

func sendPath(ch kyc.Channel) string {
	if ch == kyc.ChannelPhone {
		return contract.VerifyPhonePath
	}
	return contract.VerifyEmailPath
}

func confirmPath(ch kyc.Channel) string {
	if ch == kyc.ChannelPhone {
		return contract.VerifyPhoneConfirmPath
	}
	return contract.VerifyEmailConfirmPath
}

func contactTo(c contactCustomer, ch kyc.Channel) string {
	if ch == kyc.ChannelPhone {
		return c.PhoneNumber
	}
	return c.Email
}

func contactState(c contactCustomer, ch kyc.Channel) string {
	if c.ContactVerification == nil {
		return ""
	}
	if ch == kyc.ChannelPhone {
		return c.ContactVerification.Phone
	}
	return c.ContactVerification.Email
}

// wantError checks an error answer: status, code, and details[key] ==
// value (key "": no check).
func wantContactError(t *testing.T, w *httptest.ResponseRecorder, status int, code, key, value, what string) {
	t.Helper()
	var e struct {
		Status  int
		Code    string
		Details map[string]any
	}
	if w.Code != status || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Status != status || e.Code != code ||
		(key != "" && e.Details[key] != value) {
		t.Fatalf("%s: %d %s; want %d %s with details.%s %q", what, w.Code, w.Body, status, code, key, value)
	}
}

// retryAfter is the answer's Retry-After in whole seconds.
func retryAfterSecs(t *testing.T, w *httptest.ResponseRecorder) int {
	t.Helper()
	s, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil {
		t.Fatalf("Retry-After %q is not whole seconds: %v", w.Header().Get("Retry-After"), err)
	}
	return s
}

// contactCodeText is a message's text: the code alone.
var contactCodeText = regexp.MustCompile(`^Your verification code is ([0-9]{6})\. It expires in 10 minutes\. Do not share it\.$`)

// received is the codes of the messages moto received and accepted (200)
// for addr (an email address, or a phone number), oldest first: the SES
// v2 SendEmail and SNS Publish requests the fault proxy forwarded to moto,
// including those whose answer it then lost. Each must be the code's text
// alone (the email from the configured address, to addr alone, with no
// code in its subject: subjects show on lock screens). moto's
// /moto-api/data.json holds them too, but it serialises every object moto
// ever made: after the package's other tests, 5.5 MB in 3 s a read.
// TestContactVerificationJourneyOnMoto checks the two agree.
func (e *contactEnv) received(t *testing.T, addr string) []string {
	t.Helper()
	var codes []string
	text := func(s string) string {
		t.Helper()
		m := contactCodeText.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("the message to %s is %q; want the code's text", addr, s)
		}
		return m[1]
	}
	if strings.HasPrefix(addr, "+") {
		for _, x := range e.proxy.Recorded("sns.Publish") {
			form, err := url.ParseQuery(string(x.Body))
			if err != nil {
				t.Fatalf("the Publish request %q: %v", x.Body, err)
			}
			if x.Status == 200 && form.Get("PhoneNumber") == addr {
				codes = append(codes, text(form.Get("Message")))
			}
		}
	} else {
		for _, x := range e.proxy.Recorded("ses.SendEmail") {
			var in struct {
				FromEmailAddress string
				Destination      struct{ ToAddresses []string }
				Content          struct {
					Simple struct {
						Subject struct{ Data string }
						Body    struct{ Text struct{ Data string } }
					}
				}
			}
			if err := json.Unmarshal(x.Body, &in); err != nil {
				t.Fatalf("the SendEmail request %q: %v", x.Body, err)
			}
			if x.Status != 200 || !slices.Contains(in.Destination.ToAddresses, addr) {
				continue
			}
			code := text(in.Content.Simple.Body.Text.Data)
			if subject := in.Content.Simple.Subject.Data; len(in.Destination.ToAddresses) != 1 || in.FromEmailAddress != e.from ||
				subject == "" || strings.Contains(subject, code) {
				t.Fatalf("the email to %v is from %q with subject %q; want only to %s, from %s, a subject without the code %s",
					in.Destination.ToAddresses, in.FromEmailAddress, subject, addr, e.from, code)
			}
			codes = append(codes, code)
		}
	}
	e.keep(codes...)
	return codes
}

// motoReceived is the texts of the messages moto holds for each address
// and number, oldest first, from /moto-api/data.json: SES's sent messages
// (body) and SNS's SMS.
func motoReceived(t *testing.T) map[string][]string {
	t.Helper()
	resp, err := http.Get(moto.URL + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []struct {
				Body         string
				Destinations struct{ ToAddresses []string }
			}
		} `json:"ses"`
		SNS struct {
			SMS []struct {
				Message     string `json:"message"`
				PhoneNumber string `json:"phone_number"`
			}
		} `json:"sns"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); resp.StatusCode != 200 || err != nil {
		t.Fatalf("moto's data.json: %s, %v", resp.Status, err)
	}
	out := map[string][]string{}
	for _, m := range data.SES.Message {
		for _, a := range m.Destinations.ToAddresses {
			out[a] = append(out[a], m.Body)
		}
	}
	for _, m := range data.SNS.SMS {
		out[m.PhoneNumber] = append(out[m.PhoneNumber], m.Message)
	}
	return out
}

// item is the customer's channel's record in the contact codes table (nil:
// none), read consistently from moto.
func (e *contactEnv) item(t *testing.T, id string, ch kyc.Channel) map[string]types.AttributeValue {
	t.Helper()
	out, err := moto.DynamoDB().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: id + "#" + string(ch)}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// itemText shows a record's attributes (binary ones by length).
func itemText(it map[string]types.AttributeValue) string {
	if it == nil {
		return "none"
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(it)) {
		switch v := it[k].(type) {
		case *types.AttributeValueMemberS:
			fmt.Fprintf(&b, "%s=%q ", k, v.Value)
		case *types.AttributeValueMemberN:
			fmt.Fprintf(&b, "%s=%s ", k, v.Value)
		case *types.AttributeValueMemberB:
			fmt.Fprintf(&b, "%s=<%d bytes> ", k, len(v.Value))
		case *types.AttributeValueMemberBOOL:
			fmt.Fprintf(&b, "%s=%t ", k, v.Value)
		default:
			fmt.Fprintf(&b, "%s=%T ", k, v)
		}
	}
	return strings.TrimSpace(b.String())
}

func itemNum(t *testing.T, it map[string]types.AttributeValue, k string) int64 {
	t.Helper()
	v, ok := it[k].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("the record has no number %s: %s", k, itemText(it))
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// age moves the record's attribute k (epoch milliseconds) by d, as the
// passing of -d would: it stands in for waiting out the resend spacing or
// the code's lifetime.
func (e *contactEnv) age(t *testing.T, id string, ch kyc.Channel, k string, d time.Duration) {
	t.Helper()
	if _, err := moto.DynamoDB().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(e.table),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: id + "#" + string(ch)}},
		UpdateExpression:          aws.String("SET #k = #k + :d"),
		ConditionExpression:       aws.String("attribute_exists(#k)"),
		ExpressionAttributeNames:  map[string]string{"#k": k},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberN{Value: fmt.Sprint(d.Milliseconds())}},
	}); err != nil {
		t.Fatalf("age %s of %s#%s: %v", k, id, ch, err)
	}
}

// allowResend ages the last send by kyc.ResendSpacing and a second: the
// next send is allowed, as it would be 31 s later.
func (e *contactEnv) allowResend(t *testing.T, id string, ch kyc.Channel) {
	t.Helper()
	e.age(t, id, ch, "sentAtMs", -(kyc.ResendSpacing + time.Second))
}

// other is a 6-digit code that is not code.
func otherCode(code string, i int) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1+i)%1_000_000)
}

// TestContactVerificationJourneyOnMoto: on moto with the deployed
// configuration, an EEA (DE) customer is created with
// contactVerification email and phone PENDING, a US one with none (both
// sends 409 CONTACT_VERIFICATION_NOT_REQUIRED, nothing sent). For each
// channel: a confirmation before any send is 400 (code); verify-* is 204
// with no body and no Content-Type, and moto received exactly one message
// with the code's text (SES from the configured address, SNS to the
// number); a wrong code is 400 (code); the code moto received is 200 with
// the channel VERIFIED; another send and another confirmation are 409
// CONTACT_ALREADY_VERIFIED. moto's own record (data.json) holds exactly
// those two messages, and none for the US customer. GET shows both
// VERIFIED, and the codes table holds neither the codes nor the address
// or number.
func TestContactVerificationJourneyOnMoto(t *testing.T) {
	e := contactOnMoto(t)

	us := e.create(t, "US")
	if us.ContactVerification != nil || strings.Contains(e.call(t, "tok", "GET", contract.CustomerPath, us.ID, "").Body.String(), "contactVerification") {
		t.Fatalf("a US customer has contactVerification %s; want none", us.states())
	}
	for _, ch := range []kyc.Channel{kyc.ChannelEmail, kyc.ChannelPhone} {
		wantContactError(t, e.send(t, "tok", us.ID, ch), 409, "CONFLICT", "reason", kyc.ReasonContactVerificationNotRequired, "US customer's verify-"+string(ch))
		wantContactError(t, e.confirm(t, "tok", us.ID, ch, "123456"), 409, "CONFLICT", "reason", kyc.ReasonContactVerificationNotRequired, "US customer's confirm "+string(ch))
		if got := e.received(t, contactTo(us, ch)); len(got) != 0 {
			t.Fatalf("moto received %d messages to the US customer's %s; want none", len(got), ch)
		}
	}

	de := e.create(t, "DE")
	if contactState(de, kyc.ChannelEmail) != kyc.ContactPending || contactState(de, kyc.ChannelPhone) != kyc.ContactPending {
		t.Fatalf("a DE customer has contactVerification %s; want email and phone PENDING", de.states())
	}
	codes := map[kyc.Channel]string{}
	for _, ch := range []kyc.Channel{kyc.ChannelEmail, kyc.ChannelPhone} {
		e.refused(t, de, ch, "123456", "confirm "+string(ch)+" before any send")
		code := e.sent(t, de, ch, 1)
		codes[ch] = code
		e.refused(t, de, ch, otherCode(code, 0), "a wrong "+string(ch)+" code")
		got := e.confirmed(t, de, ch, code)
		if ch == kyc.ChannelEmail && contactState(got, kyc.ChannelPhone) != kyc.ContactPending {
			t.Fatalf("after the email's confirmation: %s; want phone still PENDING", got.states())
		}
		wantContactError(t, e.send(t, "tok", de.ID, ch), 409, "CONFLICT", "reason", kyc.ReasonContactAlreadyVerified, "verify-"+string(ch)+" once verified")
		wantContactError(t, e.confirm(t, "tok", de.ID, ch, code), 409, "CONFLICT", "reason", kyc.ReasonContactAlreadyVerified, "confirm "+string(ch)+" once verified")
		if n := len(e.received(t, contactTo(de, ch))); n != 1 {
			t.Fatalf("moto received %d messages to the customer's %s; want 1", n, ch)
		}
	}
	held := motoReceived(t)
	for _, ch := range []kyc.Channel{kyc.ChannelEmail, kyc.ChannelPhone} {
		if got, want := held[contactTo(de, ch)], []string{"Your verification code is " + codes[ch] + ". It expires in 10 minutes. Do not share it."}; !slices.Equal(got, want) {
			t.Fatalf("moto's data.json holds %q for the customer's %s; want %q", got, ch, want)
		}
		if got := held[contactTo(us, ch)]; len(got) != 0 {
			t.Fatalf("moto's data.json holds %q for the US customer's %s; want nothing", got, ch)
		}
	}
	w := e.call(t, "tok", "GET", contract.CustomerPath, de.ID, "")
	if got := readContactCustomer(t, w); w.Code != 200 || contactState(got, kyc.ChannelEmail) != kyc.ContactVerified || contactState(got, kyc.ChannelPhone) != kyc.ContactVerified {
		t.Fatalf("GET after both confirmations = %d %s; want both VERIFIED", w.Code, w.Body)
	}
	for _, ch := range []kyc.Channel{kyc.ChannelEmail, kyc.ChannelPhone} {
		it := e.item(t, de.ID, ch)
		if it == nil {
			t.Fatalf("no %s record", ch)
		}
		for _, v := range storetest.Flatten(it) {
			if strings.Contains(v, codes[ch]) || strings.Contains(v, de.Email) || strings.Contains(v, strings.TrimPrefix(de.PhoneNumber, "+")) {
				t.Fatalf("the %s record holds the code, the address or the number in the clear: %s", ch, itemText(it))
			}
		}
	}
}

// TestContactWrongGuessesAreCountedExactlyOnMoto: of 20 wrong guesses at
// an email code side by side (each 400 naming code), exactly 5 are
// counted (the record's attempts is 5) and the code is dead: the code moto
// received answers 400. The proxy holds the 20 reads of the code's record
// until all are answered, so every guess reads 0 wrong guesses before any
// counts: only the store's conditional count keeps it at 5 (without its
// condition, 20). Once the resend spacing has passed (the record's
// sentAtMs moved 31 s back stands in for waiting), a resend is 204, the
// new message's code confirms (200, VERIFIED).
func TestContactWrongGuessesAreCountedExactlyOnMoto(t *testing.T) {
	e := contactOnMoto(t)
	c := e.create(t, "DE")
	code := e.sent(t, c, kyc.ChannelEmail, 1)
	e.proxy.HoldAnswers("GetItem", c.ID+"#email", 20)
	var wg sync.WaitGroup
	answers := make([]*httptest.ResponseRecorder, 20)
	for i := range answers {
		wg.Go(func() { answers[i] = e.confirm(t, "tok", c.ID, kyc.ChannelEmail, otherCode(code, i)) })
	}
	wg.Wait()
	for i, w := range answers {
		wantContactError(t, w, 400, "INVALID_INPUT", "field", "code", fmt.Sprintf("wrong guess %d of 20", i))
	}
	if n := itemNum(t, e.item(t, c.ID, kyc.ChannelEmail), "attempts"); n != kyc.MaxWrongCodes {
		t.Fatalf("after 20 wrong guesses side by side the record counts %d; want %d", n, kyc.MaxWrongCodes)
	}
	e.refused(t, c, kyc.ChannelEmail, code, "the right code after 5 wrong ones")
	wantContactError(t, e.send(t, "tok", c.ID, kyc.ChannelEmail), 429, "RATE_LIMITED", "", "", "a resend within the spacing")
	e.allowResend(t, c.ID, kyc.ChannelEmail)
	next := e.sent(t, c, kyc.ChannelEmail, 2)
	if it := e.item(t, c.ID, kyc.ChannelEmail); itemNum(t, it, "attempts") != 0 || itemNum(t, it, "sends") != 2 {
		t.Fatalf("after the resend the record is %s; want attempts 0, sends 2", itemText(it))
	}
	e.confirmed(t, c, kyc.ChannelEmail, next)
}

// TestContactResendThrottleOnMoto: a second verify-phone at once is 429
// with Retry-After in whole seconds, 1 to 30, and sends nothing; the
// email channel has its own throttle.
func TestContactResendThrottleOnMoto(t *testing.T) {
	e := contactOnMoto(t)
	c := e.create(t, "DE")
	e.sent(t, c, kyc.ChannelPhone, 1)
	w := e.send(t, "tok", c.ID, kyc.ChannelPhone)
	wantContactError(t, w, 429, "RATE_LIMITED", "", "", "a second verify-phone at once")
	if s := retryAfterSecs(t, w); s < 1 || s > int(kyc.ResendSpacing/time.Second) {
		t.Fatalf("Retry-After %d; want 1 to %d", s, int(kyc.ResendSpacing/time.Second))
	}
	if n := len(e.received(t, c.PhoneNumber)); n != 1 {
		t.Fatalf("moto received %d SMS; want 1 (the throttled send sends nothing)", n)
	}
	e.sent(t, c, kyc.ChannelEmail, 1)
}

// TestContactCodeExpiryOnMoto: a code past its lifetime (the record's
// codeExpiresAtMs moved 10 min back stands in for waiting) answers 400
// naming code, counts no wrong guess, and leaves the channel PENDING.
func TestContactCodeExpiryOnMoto(t *testing.T) {
	e := contactOnMoto(t)
	c := e.create(t, "DE")
	code := e.sent(t, c, kyc.ChannelEmail, 1)
	e.age(t, c.ID, kyc.ChannelEmail, "codeExpiresAtMs", -kyc.CodeLifetime)
	e.refused(t, c, kyc.ChannelEmail, code, "the right code after its lifetime")
	if n := itemNum(t, e.item(t, c.ID, kyc.ChannelEmail), "attempts"); n != 0 {
		t.Fatalf("the expired code counted %d wrong guesses; want 0", n)
	}
	if got := readContactCustomer(t, e.call(t, "tok", "GET", contract.CustomerPath, c.ID, "")); contactState(got, kyc.ChannelEmail) != kyc.ContactPending {
		t.Fatalf("after an expired code: %s; want email PENDING", got.states())
	}
}

// TestContactCodeIsBoundToTheAddressOnMoto: a code sent to one email
// address does not confirm after a PATCH changed the email (400 naming
// code, the email PENDING); and a verified email changed by a PATCH is
// PENDING again (the phone, not changed, keeps its state).
func TestContactCodeIsBoundToTheAddressOnMoto(t *testing.T) {
	e := contactOnMoto(t)
	patch := func(c contactCustomer, email string) contactCustomer {
		t.Helper()
		e.keep(email)
		w := e.call(t, "tok", "PATCH", contract.CustomerPath, c.ID, `{"customerType":"INDIVIDUAL","email":"`+email+`"}`)
		if w.Code != 200 {
			t.Fatalf("PATCH email = %d %s", w.Code, w.Body)
		}
		got := readContactCustomer(t, w)
		if got.Email != email {
			t.Fatalf("PATCH answered email %q; want %q", got.Email, email)
		}
		return got
	}

	c := e.create(t, "DE")
	code := e.sent(t, c, kyc.ChannelEmail, 1)
	moved := patch(c, "moved-"+contactUniq()+"@example.com")
	e.refused(t, moved, kyc.ChannelEmail, code, "the code sent to the old address")
	if got := readContactCustomer(t, e.call(t, "tok", "GET", contract.CustomerPath, c.ID, "")); contactState(got, kyc.ChannelEmail) != kyc.ContactPending {
		t.Fatalf("after the old address's code: %s; want email PENDING", got.states())
	}

	v := e.create(t, "DE")
	e.confirmed(t, v, kyc.ChannelPhone, e.sent(t, v, kyc.ChannelPhone, 1))
	e.confirmed(t, v, kyc.ChannelEmail, e.sent(t, v, kyc.ChannelEmail, 1))
	got := patch(v, "changed-"+contactUniq()+"@example.com")
	if contactState(got, kyc.ChannelEmail) != kyc.ContactPending || contactState(got, kyc.ChannelPhone) != kyc.ContactVerified {
		t.Fatalf("a PATCH of a verified email answered %s; want email PENDING, phone VERIFIED", got.states())
	}
	if got := readContactCustomer(t, e.call(t, "tok", "GET", contract.CustomerPath, v.ID, "")); contactState(got, kyc.ChannelEmail) != kyc.ContactPending ||
		contactState(got, kyc.ChannelPhone) != kyc.ContactVerified {
		t.Fatalf("GET after the PATCH: %s; want email PENDING, phone VERIFIED", got.states())
	}
}

// TestContactDeliveryFailuresOnMoto: SES v2 SendEmail and SNS Publish fail
// through the fault proxy on a resend (a code was sent and is live). A
// 5xx, throttling, or answers lost after moto took the message (the SDK
// retries; the customer may have the code) are 503 SERVICE_UNAVAILABLE
// with Retry-After of at least 30 s; a permanent refusal (SES
// MessageRejected, AccessDeniedException; SNS AuthorizationError) is 500
// INTERNAL_ERROR. So is a send whose message moto took but whose record
// could not be marked delivered (DynamoDB UpdateItem failing, or out of
// reach, after it).
// Either way no code is usable: the record holds no delivered code (no
// codeMac, or delivered false), and the previous code, and any code moto
// received from the failed send, answer 400 naming code. The failed send
// counts: a send at once is 429; after the spacing a send is 204 and its
// code confirms.
func TestContactDeliveryFailuresOnMoto(t *testing.T) {
	e := contactOnMoto(t)
	for _, tc := range []struct {
		ch     kyc.Channel
		op     string
		mode   faultproxy.Mode
		status int
		took   bool // moto took the failed send's message
	}{
		{kyc.ChannelEmail, "SendEmail", faultproxy.Fail5xx, 503, false},
		{kyc.ChannelEmail, "SendEmail", faultproxy.Throttle, 503, false},
		{kyc.ChannelEmail, "SendEmail", faultproxy.LoseAnswer, 503, true},
		{kyc.ChannelEmail, "SendEmail", faultproxy.Code("MessageRejected"), 500, false},
		{kyc.ChannelEmail, "SendEmail", faultproxy.Code("AccessDeniedException"), 500, false},
		{kyc.ChannelEmail, "UpdateItem", faultproxy.Fail5xx, 503, true},
		{kyc.ChannelPhone, "Publish", faultproxy.Fail5xx, 503, false},
		{kyc.ChannelPhone, "Publish", faultproxy.Throttle, 503, false},
		{kyc.ChannelPhone, "Publish", faultproxy.LoseAnswer, 503, true},
		{kyc.ChannelPhone, "Publish", faultproxy.Code("AuthorizationError"), 500, false},
		{kyc.ChannelPhone, "UpdateItem", faultproxy.Down, 503, true},
	} {
		t.Run(fmt.Sprintf("%s %s", tc.op, tc.mode), func(t *testing.T) {
			c := e.create(t, "DE")
			first := e.sent(t, c, tc.ch, 1)
			e.allowResend(t, c.ID, tc.ch)
			before := e.proxy.Count(tc.op)
			e.proxy.Set(tc.op, tc.mode)
			w := e.send(t, "tok", c.ID, tc.ch)
			e.proxy.Set(tc.op, faultproxy.Pass)
			if e.proxy.Count(tc.op) == before {
				t.Fatalf("the send made no %s call through the proxy", tc.op)
			}
			if tc.status == 503 {
				wantContactError(t, w, 503, "SERVICE_UNAVAILABLE", "", "", "a send that failed")
				if s := retryAfterSecs(t, w); s < int(kyc.ResendSpacing/time.Second) {
					t.Fatalf("Retry-After %d; want at least %d (the failed send counts)", s, int(kyc.ResendSpacing/time.Second))
				}
			} else {
				wantContactError(t, w, 500, "INTERNAL_ERROR", "", "", "a send refused for our configuration")
			}
			it := e.item(t, c.ID, tc.ch)
			_, mac := it["codeMac"]
			if delivered, _ := it["delivered"].(*types.AttributeValueMemberBOOL); it == nil || mac && (delivered == nil || delivered.Value) {
				t.Fatalf("after the failed send the record is %s; want no delivered code in it", itemText(it))
			}
			if n := itemNum(t, it, "sends"); n != 2 {
				t.Fatalf("after the failed send the record counts %d sends; want 2", n)
			}
			e.refused(t, c, tc.ch, first, "the code sent before the failed send")
			received := e.received(t, contactTo(c, tc.ch))
			if tc.took != (len(received) > 1) {
				t.Fatalf("moto received %d messages; want the first and (%v) the failed send's", len(received), tc.took)
			}
			for _, code := range received[1:] {
				e.refused(t, c, tc.ch, code, "a code moto received from the failed send")
			}
			wantContactError(t, e.send(t, "tok", c.ID, tc.ch), 429, "RATE_LIMITED", "", "", "a send at once after the failed one")
			e.allowResend(t, c.ID, tc.ch)
			e.confirmed(t, c, tc.ch, e.sent(t, c, tc.ch, len(received)+1))
		})
	}
}

// TestContactRoutesIsolateTenantsOnMoto: platform q, on the four contact
// routes for platform p's customer (a send made and a code live), gets a
// 404 whose body is byte for byte the one for a customer id nobody has;
// nothing is sent, no guess is counted, and p's code still confirms.
func TestContactRoutesIsolateTenantsOnMoto(t *testing.T) {
	e := contactOnMoto(t)
	c := e.create(t, "DE")
	code := e.sent(t, c, kyc.ChannelEmail, 1)
	const unknown = "Customer:019542f5-b3e7-1d02-0000-00000000dead"
	for _, ch := range []kyc.Channel{kyc.ChannelEmail, kyc.ChannelPhone} {
		for _, r := range []struct {
			name string
			do   func(token, id string) *httptest.ResponseRecorder
		}{
			{"verify-" + string(ch), func(token, id string) *httptest.ResponseRecorder { return e.send(t, token, id, ch) }},
			{"verify-" + string(ch) + "/confirm", func(token, id string) *httptest.ResponseRecorder {
				return e.confirm(t, token, id, ch, otherCode(code, 0))
			}},
		} {
			theirs, none := r.do("tok-q", c.ID), r.do("tok-q", unknown)
			wantContactError(t, theirs, 404, "USER_NOT_FOUND", "", "", "q's "+r.name+" of p's customer")
			wantContactError(t, none, 404, "USER_NOT_FOUND", "", "", "q's "+r.name+" of an unknown id")
			if theirs.Body.String() != none.Body.String() {
				t.Fatalf("%s: the 404 for p's customer %s differs from the one for an unknown id %s", r.name, theirs.Body, none.Body)
			}
			if p := r.do("tok", unknown); p.Body.String() != none.Body.String() {
				t.Fatalf("%s: p's 404 for an unknown id %s differs from q's %s", r.name, p.Body, none.Body)
			}
		}
	}
	if n := len(e.received(t, c.Email)); n != 1 {
		t.Fatalf("moto received %d emails; want 1 (q's sends send nothing)", n)
	}
	if n := len(e.received(t, c.PhoneNumber)); n != 0 {
		t.Fatalf("moto received %d SMS; want none", n)
	}
	if n := itemNum(t, e.item(t, c.ID, kyc.ChannelEmail), "attempts"); n != 0 {
		t.Fatalf("q's guesses counted %d against p's code; want 0", n)
	}
	if it := e.item(t, c.ID, kyc.ChannelPhone); it != nil {
		t.Fatalf("q's verify-phone made a record: %s", itemText(it))
	}
	e.confirmed(t, c, kyc.ChannelEmail, code)
}

// TestContactLostAnswersOnMoto: through the function, a write whose answer
// is lost once after moto applied it (the SDK sends it again, and the
// second try meets the state the first one made) is taken as done: a send
// whose code write (PutItem) lost its answer is 204 and its code confirms,
// not 429; a wrong guess whose count (UpdateItem) lost its answer counts
// once; a right code whose use (UpdateItem) lost its answer confirms (200),
// not burned; an SMS whose answer was lost reaches moto twice with one
// code, which confirms.
func TestContactLostAnswersOnMoto(t *testing.T) {
	e := contactOnMoto(t)
	c := e.create(t, "DE")
	lost := func(op string, do func()) {
		t.Helper()
		before := e.proxy.Count(op)
		e.proxy.Set(op, faultproxy.LoseAnswerOnce)
		do()
		e.proxy.Set(op, faultproxy.Pass)
		if n := e.proxy.Count(op) - before; n < 2 {
			t.Fatalf("%d %s calls; want the one whose answer was lost and the SDK's second try", n, op)
		}
	}
	var code string
	lost("PutItem", func() { code = e.sent(t, c, kyc.ChannelEmail, 1) })
	lost("UpdateItem", func() { e.refused(t, c, kyc.ChannelEmail, otherCode(code, 0), "a wrong code") })
	if n := itemNum(t, e.item(t, c.ID, kyc.ChannelEmail), "attempts"); n != 1 {
		t.Fatalf("one wrong guess whose count's answer was lost counted %d; want 1", n)
	}
	lost("UpdateItem", func() { e.confirmed(t, c, kyc.ChannelEmail, code) })

	var sms string
	lost("Publish", func() { sms = e.sent(t, c, kyc.ChannelPhone, 2) })
	if got := e.received(t, c.PhoneNumber); got[0] != got[1] {
		t.Fatalf("the SDK's second try sent another code: %v", got)
	}
	e.confirmed(t, c, kyc.ChannelPhone, sms)
}

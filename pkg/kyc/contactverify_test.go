package kyc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// contactEnv is contact verification on memory stores with a clock the
// test moves and senders that keep what they were given.
type contactEnv struct {
	t     *testing.T
	v     *kyc.ContactVerifications
	codes *memstore.ContactCodes
	store *memstore.Customers
	clock time.Time
	mu    sync.Mutex
	sent  []kyc.ContactMessage
	// fail, when set, is each send's answer.
	fail error
}

func newContactEnv(t *testing.T) *contactEnv {
	t.Helper()
	c, store, _ := newCustomers(t)
	rules, err := kyc.ParseContactRules(strings.Join(kyc.EEARegions(), ","), "email,phone")
	if err != nil {
		t.Fatal(err)
	}
	c.Contact = rules
	e := &contactEnv{t: t, codes: &memstore.ContactCodes{}, store: store, clock: now}
	clock := func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.clock }
	c.Now = clock
	send := kyc.SenderFunc(func(_ context.Context, m kyc.ContactMessage) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.fail != nil {
			return e.fail
		}
		e.sent = append(e.sent, m)
		return nil
	})
	key := []byte("0123456789abcdef0123456789abcdef")
	e.v = &kyc.ContactVerifications{Customers: c, Codes: e.codes, Email: send, Phone: send, Now: clock,
		Key: func(context.Context) ([]byte, error) { return key, nil }}
	return e
}

func (e *contactEnv) advance(d time.Duration) { e.mu.Lock(); e.clock = e.clock.Add(d); e.mu.Unlock() }

// last is the code last sent on ch.
func (e *contactEnv) last(ch kyc.Channel) kyc.ContactMessage {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.sent) - 1; i >= 0; i-- {
		if e.sent[i].Channel == ch {
			return e.sent[i]
		}
	}
	e.t.Fatalf("no code sent on %s", ch)
	return kyc.ContactMessage{}
}

// eea creates an EEA customer of p1 with an email and a phone number.
func (e *contactEnv) eea() kyc.CustomerView {
	return create(e.t, e.v.Customers, "p1", `{"customerType":"INDIVIDUAL","region":"DE","email":"anna@example.de","phoneNumber":"+4915112345678"}`)
}

// wrong is a well-formed code other than right.
func wrong(right string) string {
	if right == "000000" {
		return "000001"
	}
	return "000000"
}

// isErr checks err's code, details.field or details.reason.
func isErr(t *testing.T, err error, code kyc.Code, detail string) {
	t.Helper()
	var e *kyc.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v; want %s", err, code)
	}
	got := ""
	if e.Details != nil {
		got, _ = e.Details["field"].(string)
		if r, ok := e.Details["reason"].(string); ok {
			got = r
		}
	}
	if e.Code != code || got != detail {
		t.Fatalf("error = %s %q (%s); want %s %q", e.Code, got, e.Message, code, detail)
	}
}

func TestContactRulesAtCreation(t *testing.T) {
	for _, tc := range []struct {
		name, regions, channels, region string
		want                            *kyc.ContactVerificationView
	}{
		{"EEA default, DE", strings.Join(kyc.EEARegions(), ","), "email,phone", "DE", &kyc.ContactVerificationView{Email: "PENDING", Phone: "PENDING"}},
		{"EEA default, NO (EEA, not EU)", strings.Join(kyc.EEARegions(), ","), "email,phone", "NO", &kyc.ContactVerificationView{Email: "PENDING", Phone: "PENDING"}},
		{"EEA default, US", strings.Join(kyc.EEARegions(), ","), "email,phone", "US", nil},
		{"EEA default, CH (not EEA)", strings.Join(kyc.EEARegions(), ","), "email,phone", "CH", nil},
		{"email only", "DE,FR", "email", "FR", &kyc.ContactVerificationView{Email: "PENDING"}},
		{"phone only", "GB", "phone", "GB", &kyc.ContactVerificationView{Phone: "PENDING"}},
		{"no region", "none", "email,phone", "DE", nil},
		{"no channel", "DE", "none", "DE", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := newCustomers(t)
			rules, err := kyc.ParseContactRules(tc.regions, tc.channels)
			if err != nil {
				t.Fatal(err)
			}
			c.Contact = rules
			v := create(t, c, "p1", fmt.Sprintf(`{"customerType":"INDIVIDUAL","region":%q}`, tc.region))
			if diff := cmp.Diff(tc.want, v.ContactVerification); diff != "" {
				t.Errorf("contactVerification (-want +got):\n%s", diff)
			}
			// A business in the region verifies too.
			b := create(t, c, "p1", fmt.Sprintf(`{"customerType":"BUSINESS","region":%q,"businessInfo":{"legalName":"Acme GmbH","country":%[1]q,"taxId":"T-1","incorporatedOn":"2020-01-01"}}`, tc.region))
			if diff := cmp.Diff(tc.want, b.ContactVerification); diff != "" {
				t.Errorf("business contactVerification (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseContactRulesRefusesTypos(t *testing.T) {
	for _, tc := range [][2]string{{"de", "email"}, {"DEU", "email"}, {"DE", "sms"}, {"DE,1X", "email"}, {"UK", "email"}, {"EL", "phone"}, {"ZZ", "email"}} {
		if _, err := kyc.ParseContactRules(tc[0], tc[1]); err == nil {
			t.Errorf("ParseContactRules(%q, %q) accepted", tc[0], tc[1])
		}
	}
}

// TestContactJourney: both channels sent and confirmed; each code
// confirms only its channel; a verified channel refuses more.
func TestContactJourney(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	m := e.last(kyc.ChannelEmail)
	if m.To != "anna@example.de" || m.CustomerID != c.ID || len(m.Code) != 6 || !m.ExpiresAt.Equal(now.Add(kyc.CodeLifetime)) {
		t.Fatalf("email sent = %+v", m)
	}
	// The email's code is not the phone's.
	_, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelPhone, m.Code)
	isErr(t, err, kyc.CodeInvalid, "code")
	_, err = e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, wrong(m.Code))
	isErr(t, err, kyc.CodeInvalid, "code")
	v, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, m.Code)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&kyc.ContactVerificationView{Email: "VERIFIED", Phone: "PENDING"}, v.ContactVerification); diff != "" {
		t.Errorf("after the email (-want +got):\n%s", diff)
	}
	// Used once: the same code again finds the channel verified.
	_, err = e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, m.Code)
	isErr(t, err, kyc.CodeConflict, kyc.ReasonContactAlreadyVerified)
	isErr(t, e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail), kyc.CodeConflict, kyc.ReasonContactAlreadyVerified)

	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelPhone); err != nil {
		t.Fatal(err)
	}
	p := e.last(kyc.ChannelPhone)
	if p.To != "+4915112345678" {
		t.Errorf("SMS to %q", p.To)
	}
	v, err = e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelPhone, p.Code)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&kyc.ContactVerificationView{Email: "VERIFIED", Phone: "VERIFIED"}, v.ContactVerification); diff != "" {
		t.Errorf("after both (-want +got):\n%s", diff)
	}
	if got, _ := e.v.Customers.Get(ctx, "p1", c.ID); !cmp.Equal(got, v) {
		t.Errorf("Get = %+v; want the confirmation's answer %+v", got, v)
	}
}

func TestContactRefusals(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	eea := e.eea()
	us := create(t, e.v.Customers, "p1", `{"customerType":"INDIVIDUAL","region":"US","email":"a@example.com"}`)
	noPhone := create(t, e.v.Customers, "p1", `{"customerType":"INDIVIDUAL","region":"FR","email":"b@example.fr"}`)
	gone := create(t, e.v.Customers, "p1", `{"customerType":"INDIVIDUAL","region":"FR","email":"c@example.fr"}`)
	if _, err := e.v.Customers.Delete(ctx, "p1", gone.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, platform, id string
		ch                 kyc.Channel
		code               kyc.Code
		detail             string
	}{
		{"not required", "p1", us.ID, kyc.ChannelEmail, kyc.CodeConflict, kyc.ReasonContactVerificationNotRequired},
		{"another platform's", "p2", eea.ID, kyc.ChannelEmail, kyc.CodeNotFound, ""},
		{"unknown", "p1", "Customer:nobody", kyc.ChannelEmail, kyc.CodeNotFound, ""},
		{"bad id", "p1", "Customer:a b", kyc.ChannelEmail, kyc.CodeInvalid, "customerId"},
		{"deleted", "p1", gone.ID, kyc.ChannelEmail, kyc.CodeCustomerDeleted, ""},
		{"no phone number", "p1", noPhone.ID, kyc.ChannelPhone, kyc.CodeInvalid, "phoneNumber"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isErr(t, e.v.Send(ctx, tc.platform, tc.id, tc.ch), tc.code, tc.detail)
			_, err := e.v.Confirm(ctx, tc.platform, tc.id, tc.ch, "123456")
			if tc.detail == "phoneNumber" {
				// Nothing was sent: no code waits.
				isErr(t, err, kyc.CodeInvalid, "code")
				return
			}
			isErr(t, err, tc.code, tc.detail)
		})
	}
	if len(e.sent) != 0 {
		t.Errorf("refused requests sent %d codes", len(e.sent))
	}
	// Malformed codes are refused before anything is read or counted.
	for _, code := range []string{"", "12345", "1234567", "12345a", "１２３４５６", " 12345"} {
		_, err := e.v.Confirm(ctx, "p1", eea.ID, kyc.ChannelEmail, code)
		isErr(t, err, kyc.CodeInvalid, "code")
	}
	// Nothing sent yet: a well-formed code finds nothing.
	_, err := e.v.Confirm(ctx, "p1", eea.ID, kyc.ChannelEmail, "123456")
	isErr(t, err, kyc.CodeInvalid, "code")
}

// TestWrongCodesKillTheCode: five wrong guesses, then even the right code
// fails until a new one is sent, which confirms.
func TestWrongCodesKillTheCode(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	right := e.last(kyc.ChannelEmail).Code
	for range 10 {
		_, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, wrong(right))
		isErr(t, err, kyc.CodeInvalid, "code")
	}
	_, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, right)
	isErr(t, err, kyc.CodeInvalid, "code")
	e.advance(kyc.ResendSpacing)
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, e.last(kyc.ChannelEmail).Code); err != nil {
		t.Errorf("the new code: %v", err)
	}
}

// TestParallelWrongGuesses: of 20 wrong guesses at once, exactly
// MaxWrongCodes are counted.
func TestParallelWrongGuesses(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelPhone); err != nil {
		t.Fatal(err)
	}
	right := e.last(kyc.ChannelPhone).Code
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelPhone, wrong(right)); kyc.AsError(err).Code == kyc.CodeInvalid {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	rec, _, _ := e.codes.ContactCode(ctx, c.ID, kyc.ChannelPhone)
	if refused.Load() != 20 || rec.Attempts != kyc.MaxWrongCodes {
		t.Errorf("%d refused, %d counted; want 20 refused, %d counted", refused.Load(), rec.Attempts, kyc.MaxWrongCodes)
	}
}

func TestCodeExpires(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	e.advance(kyc.CodeLifetime)
	_, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, e.last(kyc.ChannelEmail).Code)
	isErr(t, err, kyc.CodeInvalid, "code")
	if !strings.Contains(kyc.AsError(err).Message, "expired") {
		t.Errorf("message %q does not say the code expired", kyc.AsError(err).Message)
	}
}

// TestResendThrottle: one send per ResendSpacing, MaxSendsPerWindow per
// SendWindow, each refusal saying when the next send is allowed.
func TestResendThrottle(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	retry := func(err error) time.Duration {
		t.Helper()
		isErr(t, err, kyc.CodeRateLimited, "")
		return kyc.AsError(err).RetryAfter
	}
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	e.advance(10 * time.Second)
	if got := retry(e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail)); got != 20*time.Second {
		t.Errorf("Retry-After %s; want 20s", got)
	}
	// The other channel has its own throttle.
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelPhone); err != nil {
		t.Errorf("phone beside the email: %v", err)
	}
	for i := 2; i <= kyc.MaxSendsPerWindow; i++ {
		e.advance(kyc.ResendSpacing)
		if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	e.advance(kyc.ResendSpacing)
	// 10 s + 4×30 s + 30 s = 160 s into the window.
	if got := retry(e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail)); got != kyc.SendWindow-160*time.Second {
		t.Errorf("Retry-After %s; want the window's end, %s", got, kyc.SendWindow-160*time.Second)
	}
	e.advance(kyc.SendWindow - 160*time.Second)
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
		t.Errorf("first send of the next window: %v", err)
	}
	// The latest code confirms; every earlier one is replaced.
	e.mu.Lock()
	first := e.sent[0]
	e.mu.Unlock()
	if first.Code != e.last(kyc.ChannelEmail).Code {
		_, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, first.Code)
		isErr(t, err, kyc.CodeInvalid, "code")
	}
	if _, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, e.last(kyc.ChannelEmail).Code); err != nil {
		t.Error(err)
	}
}

// TestParallelSendsSendOnce: of 10 sends at once, one sends; the others
// are throttled.
func TestParallelSendsSendOnce(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	var wg sync.WaitGroup
	var limited atomic.Int64
	for range 10 {
		wg.Go(func() {
			err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail)
			if kyc.AsError(err).Code == kyc.CodeRateLimited {
				limited.Add(1)
			} else if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(e.sent) != 1 || limited.Load() != 9 {
		t.Errorf("%d sent, %d throttled; want 1 and 9", len(e.sent), limited.Load())
	}
}

// TestCodeConfirmsOnlyItsAddress: a code sent to one address does not
// confirm another set by a PATCH; a verified channel whose value a PATCH
// changes is PENDING again; other PATCHes leave it VERIFIED.
func TestCodeConfirmsOnlyItsAddress(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	code := e.last(kyc.ChannelEmail).Code
	if _, err := patch(t, e.v.Customers, "p1", c.ID, `{"customerType":"INDIVIDUAL","email":"other@example.de"}`); err != nil {
		t.Fatal(err)
	}
	_, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, code)
	isErr(t, err, kyc.CodeInvalid, "code")
	// Back to the first address: the code is bound to it, still alive.
	if _, err := patch(t, e.v.Customers, "p1", c.ID, `{"customerType":"INDIVIDUAL","email":"anna@example.de"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, code); err != nil {
		t.Fatalf("the code at its own address: %v", err)
	}
	v, err := patch(t, e.v.Customers, "p1", c.ID, `{"customerType":"INDIVIDUAL","fullName":"Anna Schmidt"}`)
	if err != nil || v.ContactVerification.Email != kyc.ContactVerified {
		t.Errorf("after an unrelated PATCH: %+v, %v; want email VERIFIED", v.ContactVerification, err)
	}
	v, err = patch(t, e.v.Customers, "p1", c.ID, `{"customerType":"INDIVIDUAL","email":"new@example.de"}`)
	if err != nil || v.ContactVerification.Email != kyc.ContactPending || v.ContactVerification.Phone != kyc.ContactPending {
		t.Errorf("after changing the verified email: %+v, %v; want email PENDING", v.ContactVerification, err)
	}
	// The same value again is no change: it stays as it is.
	e.advance(kyc.ResendSpacing)
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	if m := e.last(kyc.ChannelEmail); m.To != "new@example.de" {
		t.Errorf("sent to %q; want the new address", m.To)
	}
}

// TestFailedDeliveryLeavesNoCode: a send that fails is the sender's error
// (503 with a retry no sooner than the spacing, 500 for our
// configuration, 400 for an address refused) and whatever code it made
// does not confirm.
func TestFailedDeliveryLeavesNoCode(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		fail   error
		code   kyc.Code
		detail string
	}{
		{"outage", kyc.Unavailable(kyc.DepEmail, "x", time.Second, errors.New("ses SendEmail: Throttling")), kyc.CodeUnavailable, ""},
		{"our configuration", kyc.Misconfigured(kyc.DepEmail, errors.New("ses SendEmail: MessageRejected")), kyc.CodeInternal, ""},
		{"address refused", kyc.InvalidField("email", "refused"), kyc.CodeInvalid, "email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newContactEnv(t)
			c := e.eea()
			var got []string
			e.v.NewCode = func() (string, error) { got = append(got, "424242"); return "424242", nil }
			e.fail = tc.fail
			err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail)
			isErr(t, err, tc.code, tc.detail)
			if tc.code == kyc.CodeUnavailable && kyc.AsError(err).RetryAfter < kyc.ResendSpacing {
				t.Errorf("Retry-After %s; want at least %s (the failed send counts)", kyc.AsError(err).RetryAfter, kyc.ResendSpacing)
			}
			if len(got) != 1 {
				t.Fatalf("%d codes drawn", len(got))
			}
			_, err = e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, "424242")
			isErr(t, err, kyc.CodeInvalid, "code")
			// Delivery back: a new send after the spacing works.
			e.fail = nil
			e.advance(kyc.ResendSpacing)
			e.v.NewCode = nil
			if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
				t.Fatal(err)
			}
			if _, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, e.last(kyc.ChannelEmail).Code); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestNoSenderIsOurConfiguration(t *testing.T) {
	e := newContactEnv(t)
	c := e.eea()
	e.v.Email = nil
	err := e.v.Send(context.Background(), "p1", c.ID, kyc.ChannelEmail)
	isErr(t, err, kyc.CodeInternal, "")
	if kyc.AsError(err).Dependency != kyc.DepEmail {
		t.Errorf("dependency %q; want EMAIL", kyc.AsError(err).Dependency)
	}
	// Nothing counted: the phone is unaffected, and so is the email's throttle.
	if _, found, _ := e.codes.ContactCode(context.Background(), c.ID, kyc.ChannelEmail); found {
		t.Error("a refused send left a record")
	}
}

// failingCustomers fails the customer's write once.
type failingCustomers struct {
	*memstore.Customers
	fail atomic.Bool
}

func (f *failingCustomers) UpdateCustomer(ctx context.Context, prev, next kyc.Customer) error {
	if f.fail.CompareAndSwap(true, false) {
		return kyc.Unavailable(kyc.DepStore, "down", time.Second, errors.New("down"))
	}
	return f.Customers.UpdateCustomer(ctx, prev, next)
}

// TestConfirmRetriesAfterAFailedWrite: a right code whose customer write
// failed (503) stays good for the retry.
func TestConfirmRetriesAfterAFailedWrite(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	f := &failingCustomers{Customers: e.store}
	e.v.Customers.Store = f
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	code := e.last(kyc.ChannelEmail).Code
	f.fail.Store(true)
	_, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, code)
	isErr(t, err, kyc.CodeUnavailable, "")
	v, err := e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, code)
	if err != nil || v.ContactVerification.Email != kyc.ContactVerified {
		t.Errorf("retry = %+v, %v", v.ContactVerification, err)
	}
}

func TestRandomCode(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := kyc.RandomCode()
		if err != nil || kyc.CheckCode(c) != nil {
			t.Fatalf("RandomCode = %q, %v", c, err)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("%d distinct codes of 200", len(seen))
	}
}

// unmarkable fails every MarkCodeDelivered: the send went out, but the
// code could not be made usable.
type unmarkable struct{ *memstore.ContactCodes }

func (unmarkable) MarkCodeDelivered(context.Context, string, kyc.Channel, []byte) error {
	return kyc.Unavailable(kyc.DepStore, "down", time.Second, errors.New("down"))
}

// TestUndeliveredCodeNeverConfirms: a code is usable only once its send
// succeeded and was recorded: a send whose record cannot be completed is
// 503, and the code that went out does not confirm (fail closed, with no
// write needed after a failure).
func TestUndeliveredCodeNeverConfirms(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	e.v.Codes = unmarkable{e.codes}
	err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelEmail)
	isErr(t, err, kyc.CodeUnavailable, "")
	if kyc.AsError(err).RetryAfter < kyc.ResendSpacing {
		t.Errorf("Retry-After %s", kyc.AsError(err).RetryAfter)
	}
	e.v.Codes = e.codes
	_, err = e.v.Confirm(ctx, "p1", c.ID, kyc.ChannelEmail, e.last(kyc.ChannelEmail).Code)
	isErr(t, err, kyc.CodeInvalid, "code")
	if rec, _, _ := e.codes.ContactCode(ctx, c.ID, kyc.ChannelEmail); rec.Attempts != 0 {
		t.Errorf("a guess at an undelivered code was counted: %d", rec.Attempts)
	}
}

// TestFailedLastSendOfTheWindowSaysWhen: when the send that failed was
// the window's last, Retry-After is the window's end, not the spacing.
func TestFailedLastSendOfTheWindowSaysWhen(t *testing.T) {
	ctx := context.Background()
	e := newContactEnv(t)
	c := e.eea()
	for range kyc.MaxSendsPerWindow - 1 {
		if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelPhone); err != nil {
			t.Fatal(err)
		}
		e.advance(kyc.ResendSpacing)
	}
	e.fail = kyc.Unavailable(kyc.DepSMS, "x", time.Second, errors.New("sns Publish: Throttled"))
	err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelPhone)
	want := kyc.SendWindow - time.Duration(kyc.MaxSendsPerWindow-1)*kyc.ResendSpacing
	if got := kyc.AsError(err).RetryAfter; got != want {
		t.Errorf("Retry-After %s; want the window's end, %s", got, want)
	}
	e.fail = nil
	e.advance(want - time.Second)
	isErr(t, e.v.Send(ctx, "p1", c.ID, kyc.ChannelPhone), kyc.CodeRateLimited, "")
	e.advance(time.Second)
	if err := e.v.Send(ctx, "p1", c.ID, kyc.ChannelPhone); err != nil {
		t.Errorf("at the Retry-After: %v", err)
	}
}

// panickingCodes panics on every read.
type panickingCodes struct{ *memstore.ContactCodes }

func (panickingCodes) ContactCode(context.Context, string, kyc.Channel) (kyc.ContactCode, bool, error) {
	panic("store bug")
}

// TestAPanicInTheCodeReadIsAnError: the read beside the customer's runs on
// its own goroutine; a panic there fails the request (500), not the
// process.
func TestAPanicInTheCodeReadIsAnError(t *testing.T) {
	e := newContactEnv(t)
	c := e.eea()
	e.v.Codes = panickingCodes{e.codes}
	isErr(t, e.v.Send(context.Background(), "p1", c.ID, kyc.ChannelEmail), kyc.CodeInternal, "")
	_, err := e.v.Confirm(context.Background(), "p1", c.ID, kyc.ChannelEmail, "123456")
	isErr(t, err, kyc.CodeInternal, "")
}

package httpapi_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// contactOutbox keeps the codes the platform API sends, or fails them.
type contactOutbox struct {
	mu   sync.Mutex
	sent []kyc.ContactMessage
	fail error
}

func (o *contactOutbox) SendCode(_ context.Context, m kyc.ContactMessage) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.sent = append(o.sent, m)
	return nil
}

func (o *contactOutbox) last(t *testing.T, ch kyc.Channel) kyc.ContactMessage {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.sent) - 1; i >= 0; i-- {
		if o.sent[i].Channel == ch {
			return o.sent[i]
		}
	}
	t.Fatalf("no code sent on %s", ch)
	return kyc.ContactMessage{}
}

const eeaCustomer = `{"customerType":"INDIVIDUAL","region":"DE","fullName":"Anna Schmidt","email":"anna@example.de","phoneNumber":"+4915112345678"}`

// TestContactVerificationRoutes: Grid's EEA journey through the routes,
// every answer checked against the contract: the link refused until both
// channels are confirmed, 204s without a Content-Type, the errors' shape.
func TestContactVerificationRoutes(t *testing.T) {
	e := newPlatformEnv(t)
	c := decode[struct {
		ID                  string
		ContactVerification map[string]string
	}](t, e.call("POST", "/customers", eeaCustomer))
	if c.ContactVerification["email"] != "PENDING" || c.ContactVerification["phone"] != "PENDING" {
		t.Fatalf("created with %v", c.ContactVerification)
	}
	link := func() int { return e.call("POST", "/customers/"+c.ID+"/kyc-link", `{}`).Code }
	if got := link(); got != 409 {
		t.Fatalf("link before verification = %d; want 409", got)
	}
	base := "/customers/" + c.ID
	w := e.call("POST", base+"/verify-email", "")
	if w.Code != 204 || w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" || w.Header().Get("X-Request-Id") == "" {
		t.Fatalf("verify-email = %d %q, Content-Type %q", w.Code, w.Body, w.Header().Get("Content-Type"))
	}
	code := e.outbox.last(t, kyc.ChannelEmail).Code
	for _, tc := range []struct{ body, field string }{
		{`{"code":"` + wrongCode(code) + `"}`, "code"},
		{`{"code":123456}`, "code"},
		{`{}`, "code"},
		{`{"code":"123456","extra":1}`, "extra"},
		{`{"code":"12 456"}`, "code"},
	} {
		w := e.call("POST", base+"/verify-email/confirm", tc.body)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"`+tc.field+`"`) {
			t.Errorf("confirm %s = %d %s; want 400 naming %s", tc.body, w.Code, w.Body, tc.field)
		}
	}
	w = e.call("POST", base+"/verify-email/confirm", `{"code":"`+code+`"}`)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"contactVerification":{"email":"VERIFIED","phone":"PENDING"}`) {
		t.Fatalf("confirm = %d %s", w.Code, w.Body)
	}
	if w := e.call("POST", base+"/verify-email", ""); w.Code != 409 || !strings.Contains(w.Body.String(), kyc.ReasonContactAlreadyVerified) {
		t.Errorf("verify-email again = %d %s", w.Code, w.Body)
	}
	if got := link(); got != 409 {
		t.Fatalf("link with the phone pending = %d; want 409", got)
	}
	if w := e.call("POST", base+"/verify-phone", ""); w.Code != 204 {
		t.Fatalf("verify-phone = %d %s", w.Code, w.Body)
	}
	w = e.call("POST", base+"/verify-phone", "")
	retry, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if w.Code != 429 || err != nil || retry < 1 || retry > 30 {
		t.Errorf("resend at once = %d, Retry-After %q; want 429 within 30 s", w.Code, w.Header().Get("Retry-After"))
	}
	w = e.call("POST", base+"/verify-phone/confirm", `{"code":"`+e.outbox.last(t, kyc.ChannelPhone).Code+`"}`)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"contactVerification":{"email":"VERIFIED","phone":"VERIFIED"}`) {
		t.Fatalf("confirm phone = %d %s", w.Code, w.Body)
	}
	if got := link(); got != 201 {
		t.Fatalf("link after both = %d; want 201", got)
	}

	us := decode[struct{ ID string }](t, e.call("POST", "/customers", `{"customerType":"INDIVIDUAL","region":"US","email":"a@example.com"}`))
	if w := e.call("POST", "/customers/"+us.ID+"/verify-email", ""); w.Code != 409 || !strings.Contains(w.Body.String(), kyc.ReasonContactVerificationNotRequired) {
		t.Errorf("US verify-email = %d %s", w.Code, w.Body)
	}
	if w := e.call("GET", "/customers/"+us.ID, ""); strings.Contains(w.Body.String(), "contactVerification") {
		t.Errorf("a US customer carries contactVerification: %s", w.Body)
	}

	// Nothing personal and no code in any log line.
	for _, secret := range []string{code, e.outbox.last(t, kyc.ChannelPhone).Code, "anna@example.de", "4915112345678", "Anna Schmidt"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the logs carry %q", secret)
		}
	}
}

// TestContactRoutesIsolateTenants: another platform's customer is the
// unknown customer's 404, byte for byte, on every route.
func TestContactRoutesIsolateTenants(t *testing.T) {
	e := newPlatformEnv(t)
	c := decode[struct{ ID string }](t, e.call("POST", "/customers", eeaCustomer))
	for _, route := range []struct{ suffix, body string }{
		{"/verify-email", ""}, {"/verify-phone", ""}, {"/verify-email/confirm", `{"code":"123456"}`}, {"/verify-phone/confirm", `{"code":"123456"}`},
	} {
		other := e.call("POST", "/customers/"+c.ID+route.suffix, route.body, "Authorization", basic("tok-b", "secret-b"))
		unknown := e.call("POST", "/customers/Customer:019ac0de-0000-7000-8000-00000000dead"+route.suffix, route.body)
		if other.Code != 404 || other.Body.String() != unknown.Body.String() {
			t.Errorf("%s: another platform's = %d %s; unknown = %d %s", route.suffix, other.Code, other.Body, unknown.Code, unknown.Body)
		}
	}
	if len(e.outbox.sent) != 0 {
		t.Errorf("%d codes sent for another platform", len(e.outbox.sent))
	}
}

// TestContactDeliveryFailure: a failed send is 503 with Retry-After, and
// 500 when the sender says it is our configuration.
func TestContactDeliveryFailure(t *testing.T) {
	e := newPlatformEnv(t)
	c := decode[struct{ ID string }](t, e.call("POST", "/customers", eeaCustomer))
	e.outbox.fail = kyc.Unavailable(kyc.DepSMS, "x", time.Second, errors.New("sns Publish: Throttled"))
	w := e.call("POST", "/customers/"+c.ID+"/verify-phone", "")
	if w.Code != 503 || w.Header().Get("Retry-After") != "30" {
		t.Errorf("SNS down = %d, Retry-After %q %s; want 503 after 30 s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	e.outbox.fail = kyc.Misconfigured(kyc.DepEmail, errors.New("ses SendEmail: MessageRejected"))
	if w := e.call("POST", "/customers/"+c.ID+"/verify-email", ""); w.Code != 500 {
		t.Errorf("SES refusing us = %d %s; want 500", w.Code, w.Body)
	}
}

func wrongCode(right string) string {
	if right == "000000" {
		return "000001"
	}
	return "000000"
}

package kyc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"runtime/debug"
	"time"
)

// The numbers of contact verification (docs/contact-verification.md).
const (
	// CodeDigits is a code's length: 10^6 codes, of which an attacker may
	// try MaxWrongCodes per code sent.
	CodeDigits = 6
	// CodeLifetime is how long a code confirms.
	CodeLifetime = 10 * time.Minute
	// MaxWrongCodes is how many wrong guesses kill a code: the next guess,
	// right or wrong, fails until a new code is sent.
	MaxWrongCodes = 5
	// ResendSpacing is the least time between two sends to one customer's
	// channel; SendWindow and MaxSendsPerWindow bound the sends in a
	// window that starts with the first send after the last window ended.
	ResendSpacing     = 30 * time.Second
	SendWindow        = time.Hour
	MaxSendsPerWindow = 5
)

// details.reason of contact verification's 409 answers.
const (
	// ReasonContactVerificationNotRequired: the customer's jurisdiction
	// does not require this channel (no contactVerification entry).
	ReasonContactVerificationNotRequired = "CONTACT_VERIFICATION_NOT_REQUIRED"
	// ReasonContactAlreadyVerified: the channel is VERIFIED already.
	ReasonContactAlreadyVerified = "CONTACT_ALREADY_VERIFIED"
)

// DepEmail and DepSMS are the services that deliver codes.
const (
	DepEmail Dependency = "EMAIL"
	DepSMS   Dependency = "SMS"
)

// ContactVerifications is contact verification's use case: send a
// one-time code to a customer's email or phone, and confirm it, which
// moves the channel to VERIFIED. Codes are kept as HMACs only.
type ContactVerifications struct {
	// Customers reads and writes the customers (tenant isolation, the
	// versioned write).
	Customers *Customers
	Codes     ContactCodes
	// Email and Phone deliver the codes; nil: the channel's delivery is
	// not configured (500, nothing counted).
	Email, Phone ContactSender
	// Key is the HMAC key of the stored codes (at least 32 bytes).
	Key func(ctx context.Context) ([]byte, error)
	// NewCode draws a code (nil: CodeDigits digits from crypto/rand; the
	// sandbox's is always 123456).
	NewCode func() (string, error)
	Now     func() time.Time
}

// SandboxCode is the sandbox's code, as in Grid's sandbox.
const SandboxCode = "123456"

// RandomCode is CodeDigits decimal digits from crypto/rand, uniformly.
func RandomCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

func (v *ContactVerifications) now() time.Time { return v.Now().UTC().Truncate(time.Millisecond) }

func (v *ContactVerifications) sender(ch Channel) (ContactSender, Dependency) {
	if ch == ChannelPhone {
		return v.Phone, DepSMS
	}
	return v.Email, DepEmail
}

// required reads platformID's customer id and checks that ch is required
// and not verified yet.
func (v *ContactVerifications) required(ctx context.Context, platformID, id string, ch Channel) (Customer, error) {
	c, err := v.Customers.record(ctx, platformID, id)
	if err != nil {
		return Customer{}, err
	}
	if c.IsDeleted {
		return Customer{}, CustomerDeleted()
	}
	switch ch.stateOf(c.ContactVerification) {
	case "":
		return Customer{}, Conflict(ReasonContactVerificationNotRequired,
			fmt.Sprintf("The customer's jurisdiction does not require %s verification.", ch))
	case ContactVerified:
		return Customer{}, Conflict(ReasonContactAlreadyVerified, fmt.Sprintf("The customer's %s is verified already.", ch))
	}
	return c, nil
}

// readCode reads the code record of id's ch beside the customer's read
// (one round trip for both); the result is used only once the customer
// is known to be the platform's.
func (v *ContactVerifications) readCode(ctx context.Context, id string, ch Channel) func() (ContactCode, bool, error) {
	type read struct {
		c     ContactCode
		found bool
		err   error
	}
	done := make(chan read, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- read{err: Internal(fmt.Errorf("panic reading a contact code: %v\n%s", p, debug.Stack()))}
			}
		}()
		c, found, err := v.Codes.ContactCode(ctx, id, ch)
		done <- read{c, found, err}
	}()
	return func() (ContactCode, bool, error) {
		r := <-done
		return r.c, r.found, r.err
	}
}

func (v *ContactVerifications) key(ctx context.Context) ([]byte, error) {
	k, err := v.Key(ctx)
	if err != nil {
		return nil, Reword(err, "The service is temporarily unavailable.")
	}
	if len(k) < 32 {
		return nil, Misconfigured(DepSecrets, fmt.Errorf("kyc: the contact code key has %d bytes; want at least 32", len(k)))
	}
	return k, nil
}

// Send sends (or sends again) a code to platformID's customer id on ch:
// refused when the channel is not required or verified (409), has no
// contact value (400 naming it), or was sent to too recently (429 with
// when to retry). A delivery that fails leaves no code usable and counts
// as a send.
func (v *ContactVerifications) Send(ctx context.Context, platformID, id string, ch Channel) error {
	if err := CheckCustomerID(id); err != nil {
		return err
	}
	record := v.readCode(ctx, id, ch)
	c, err := v.required(ctx, platformID, id, ch)
	if err != nil {
		return err
	}
	to := ch.valueOf(c)
	if to == "" {
		return InvalidField(ch.Field(), "The customer has no %s to send a code to; set %s with PATCH /customers/{customerId} first.", ch.Field(), ch.Field())
	}
	sender, dep := v.sender(ch)
	if sender == nil {
		return Misconfigured(dep, fmt.Errorf("kyc: no %s delivery is configured", ch))
	}
	key, err := v.key(ctx)
	if err != nil {
		return err
	}
	prev, found, err := record()
	if err != nil {
		return err
	}
	now := v.now()
	next := ContactCode{CustomerID: c.ID, Channel: ch, SentAt: now, WindowStart: now, Sends: 1, ExpiresAt: now.Add(CodeLifetime)}
	if found {
		if wait := prev.SentAt.Add(ResendSpacing).Sub(now); wait > 0 {
			return tooSoon(ch, wait)
		}
		if now.Before(prev.WindowStart.Add(SendWindow)) {
			if prev.Sends >= MaxSendsPerWindow {
				return tooSoon(ch, prev.WindowStart.Add(SendWindow).Sub(now))
			}
			next.WindowStart, next.Sends = prev.WindowStart, prev.Sends+1
		}
	}
	code, err := v.newCode()
	if err != nil {
		return Internal(fmt.Errorf("kyc: draw a code: %w", err))
	}
	next.CodeMAC = codeMAC(key, c.ID, ch, to, code)
	next.ContactMAC = contactMAC(key, c.ID, ch, to)
	if err := v.Codes.PutContactCode(ctx, prev.SentAt, next); err != nil {
		if errors.Is(err, ErrChanged) {
			return tooSoon(ch, ResendSpacing) // a send beside this one won
		}
		return err
	}
	// The code is written undelivered: if the send fails, or its outcome
	// is unknown, whatever reached the customer never confirms.
	err = sender.SendCode(ctx, ContactMessage{CustomerID: c.ID, Channel: ch, To: to, Code: code, ExpiresAt: next.ExpiresAt})
	if err == nil {
		err = v.Codes.MarkCodeDelivered(ctx, c.ID, ch, next.CodeMAC)
	}
	if err == nil {
		return nil
	}
	e := *AsError(err)
	if e.Code == CodeUnavailable {
		// The failed send counts toward the throttle: say when the next
		// one is allowed.
		wait := ResendSpacing
		if next.Sends >= MaxSendsPerWindow {
			wait = next.WindowStart.Add(SendWindow).Sub(now)
		}
		e.RetryAfter = max(e.RetryAfter, wait)
		e.Message = fmt.Sprintf("The %s could not be sent; send a new code after the time in Retry-After.", codeNoun(ch))
	}
	return &e
}

func codeNoun(ch Channel) string {
	if ch == ChannelPhone {
		return "SMS"
	}
	return "email"
}

func (v *ContactVerifications) newCode() (string, error) {
	if v.NewCode != nil {
		return v.NewCode()
	}
	return RandomCode()
}

// tooSoon refuses a send within the throttle; it can succeed after wait.
func tooSoon(ch Channel, wait time.Duration) *Error {
	return &Error{Code: CodeRateLimited, RetryAfter: wait,
		Message: fmt.Sprintf("A code was sent to this customer's %s too recently: at most one per %s and %d per hour; retry after the time in Retry-After.",
			ch, ResendSpacing, MaxSendsPerWindow)}
}

// badCode is the answer to a code that does not confirm.
func badCode(format string, args ...any) *Error { return InvalidField("code", format, args...) }

// CheckCode checks a code's form: CodeDigits ASCII digits.
func CheckCode(code string) error {
	if len(code) != CodeDigits {
		return badCode("The code is the %d digits sent to the customer.", CodeDigits)
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return badCode("The code is the %d digits sent to the customer.", CodeDigits)
		}
	}
	return nil
}

// Confirm checks code against the code last sent to platformID's customer
// id on ch and, when it is right, makes the channel VERIFIED and answers
// the customer. A wrong, expired, used-up or revoked code is 400 naming
// code; the MaxWrongCodes-th wrong guess kills the code.
func (v *ContactVerifications) Confirm(ctx context.Context, platformID, id string, ch Channel, code string) (CustomerView, error) {
	if err := CheckCustomerID(id); err != nil {
		return CustomerView{}, err
	}
	if err := CheckCode(code); err != nil {
		return CustomerView{}, err
	}
	record := v.readCode(ctx, id, ch)
	c, err := v.required(ctx, platformID, id, ch)
	if err != nil {
		return CustomerView{}, err
	}
	key, err := v.key(ctx)
	if err != nil {
		return CustomerView{}, err
	}
	rec, found, err := record()
	if err != nil {
		return CustomerView{}, err
	}
	resend := fmt.Sprintf("send a new one with POST /customers/{customerId}/verify-%s", ch)
	switch {
	case !found || rec.CodeMAC == nil || !rec.Delivered || rec.Used:
		return CustomerView{}, badCode("No code is waiting for confirmation; %s.", resend)
	case !v.now().Before(rec.ExpiresAt):
		return CustomerView{}, badCode("The code has expired (codes confirm for %s); %s.", CodeLifetime, resend)
	case rec.Attempts >= MaxWrongCodes:
		return CustomerView{}, badCode("Too many wrong codes; %s.", resend)
	case !hmac.Equal(rec.ContactMAC, contactMAC(key, c.ID, ch, ch.valueOf(c))):
		return CustomerView{}, badCode("The code was sent to a %s the customer no longer has; %s.", ch.Field(), resend)
	}
	if !hmac.Equal(codeMAC(key, c.ID, ch, ch.valueOf(c), code), rec.CodeMAC) {
		counted, err := v.Codes.CountWrongCode(ctx, c.ID, ch, rec.CodeMAC, MaxWrongCodes)
		if err != nil {
			return CustomerView{}, err
		}
		if !counted {
			// Guessed at its limit, or replaced by a newer code meanwhile.
			return CustomerView{}, badCode("The code is wrong and no longer valid; %s.", resend)
		}
		return CustomerView{}, badCode("The code is wrong; after %d wrong codes a new one must be sent.", MaxWrongCodes)
	}
	used, err := v.Codes.UseContactCode(ctx, c.ID, ch, rec.CodeMAC, MaxWrongCodes)
	if err != nil {
		return CustomerView{}, err
	}
	if !used {
		return CustomerView{}, badCode("No code is waiting for confirmation; %s.", resend)
	}
	// The customer as read above is the write's first base: no read again.
	view, err := v.Customers.changeFrom(ctx, platformID, id, &c, func(prev Customer, _ time.Time) (Customer, bool, error) {
		switch {
		case ch.stateOf(prev.ContactVerification) == ContactVerified:
			return prev, false, nil // a confirmation beside this one won
		case !hmac.Equal(rec.ContactMAC, contactMAC(key, prev.ID, ch, ch.valueOf(prev))):
			// Changed by a PATCH since the read: the code is for the old one.
			return prev, false, badCode("The code was sent to a %s the customer no longer has; %s.", ch.Field(), resend)
		}
		next := prev
		ch.setState(&next.ContactVerification, ContactVerified)
		return next, true, nil
	})
	if err != nil && AsError(err).Code != CodeInvalid {
		// The customer was not written: the code stays good for a retry.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		if uerr := v.Codes.UnuseContactCode(rctx, c.ID, ch, rec.CodeMAC); uerr != nil {
			e := *AsError(err)
			e.Cause = fmt.Errorf("%w (and restoring the code failed: %v)", e.Cause, uerr)
			return CustomerView{}, &e
		}
	}
	return view, err
}

// codeMAC binds a code to the customer, the channel and the contact value
// it is sent to: it confirms nothing else.
func codeMAC(key []byte, customerID string, ch Channel, to, code string) []byte {
	return mac(key, "code", customerID, string(ch), to, code)
}

// contactMAC identifies the contact value a code was sent to.
func contactMAC(key []byte, customerID string, ch Channel, to string) []byte {
	return mac(key, "contact", customerID, string(ch), to)
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// ParseCodeInput reads a confirmation's body, Grid's
// ContactVerificationConfirmRequest {"code": "…"}: the code is required
// and must be CodeDigits digits (a malformed code counts no attempt).
func ParseCodeInput(body []byte) (string, error) {
	var in struct {
		Code *string `json:"code"`
	}
	if err := decodeStrict(body, &in, nil); err != nil {
		return "", err
	}
	if in.Code == nil {
		return "", badCode("code is required: the %d digits sent to the customer.", CodeDigits)
	}
	return *in.Code, CheckCode(*in.Code)
}

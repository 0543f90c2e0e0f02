package kyc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// PlatformConfig is what this service keeps of a platform's configuration:
// where its webhooks go. Grid's other PlatformConfig fields (UMA domain,
// currencies, wallets, cards, fees) do not apply to a KYC service.
type PlatformConfig struct {
	PlatformID      string
	WebhookEndpoint string // "" when none is set
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// PlatformConfigView is GET/PATCH /config's answer: Grid's PlatformConfig
// with the fields that apply.
type PlatformConfigView struct {
	ID              string `json:"id"`
	WebhookEndpoint string `json:"webhookEndpoint,omitempty"`
	CreatedAt       string `json:"createdAt,omitempty"`
	UpdatedAt       string `json:"updatedAt,omitempty"`
}

// PlatformConfigInput is PATCH /config's body: Grid's
// PlatformConfigUpdateRequest, limited to webhookEndpoint.
type PlatformConfigInput struct {
	WebhookEndpoint *string `json:"webhookEndpoint"`
}

var configNotKept = func() map[string]string {
	m := map[string]string{}
	for _, f := range []string{"id", "createdAt", "updatedAt", "isRegulatedFinancialInstitution"} {
		m[f] = f + " is read-only."
	}
	for _, f := range []string{"umaDomain", "proxyUmaSubdomain", "supportedCurrencies", "embeddedWalletConfig",
		"cardTokenization2faConfig", "feeConfigs"} {
		m[f] = f + " is a Grid setting this KYC service does not have; leave it out."
	}
	return m
}()

// ParsePlatformConfigInput reads PATCH /config's body strictly (see
// decodeStrict).
func ParsePlatformConfigInput(body []byte) (PlatformConfigInput, error) {
	var in PlatformConfigInput
	if err := decodeStrict(body, &in, configNotKept); err != nil {
		return PlatformConfigInput{}, err
	}
	return in, nil
}

// PlatformStore keeps platforms' configuration (the platforms table that
// webhook delivery reads).
type PlatformStore interface {
	// PlatformConfig reads a platform's configuration; a platform nothing
	// is kept for has the zero configuration (no error).
	PlatformConfig(ctx context.Context, platformID string) (PlatformConfig, error)
	// SetWebhookEndpoint sets the endpoint and updatedAt (createdAt
	// too, the first time), leaving everything else kept about the
	// platform as it is, unless the endpoint is endpoint already: then
	// it writes nothing. It returns the configuration as written (or as
	// kept) and whether this call changed the endpoint, decided
	// atomically with the write, in one round trip. A store whose
	// client re-sends a write whose answer was lost counts the re-sent
	// write as the change it made (awsstore: by its instant, at).
	SetWebhookEndpoint(ctx context.Context, platformID, endpoint string, at time.Time) (c PlatformConfig, changed bool, err error)
}

// TestDelivery is what a test webhook's endpoint answered: Grid's
// TestWebhookResponse.
type TestDelivery struct {
	URL    string `json:"url"`
	Status int    `json:"response_status"`
	Body   string `json:"response_body"`
}

// TestWebhookSender sends a signed Grid webhook of type TEST to url, once
// (no retry), and reports the answer. An error means no HTTP answer came
// (connection, TLS, timeout, a non-public address); it may wrap a
// *DeliveryFailure whose Reason can be shown to the platform.
type TestWebhookSender interface {
	SendTestWebhook(ctx context.Context, platformID, url string) (TestDelivery, error)
}

// DeliveryFailure is a failed delivery whose Reason, about the platform's
// own endpoint, may be shown to it ("connection refused", "timed out").
type DeliveryFailure struct {
	Reason string
	Err    error
}

func (f *DeliveryFailure) Error() string { return f.Reason + ": " + f.Err.Error() }
func (f *DeliveryFailure) Unwrap() error { return f.Err }

// DefaultTestTimeout bounds a test webhook.
const DefaultTestTimeout = 5 * time.Second

// MaxWebhookEndpoint bounds a webhook URL.
const MaxWebhookEndpoint = 2048

// Platforms is the platform configuration use case: GET and PATCH
// /config, and POST /sandbox/webhooks/test.
type Platforms struct {
	Store PlatformStore
	// CheckEndpoint applies the rule webhook delivery applies (https to a
	// public host); its error says why, for the platform.
	CheckEndpoint func(endpoint string) error
	Sender        TestWebhookSender
	// TestTimeout bounds a test webhook (DefaultTestTimeout when zero).
	TestTimeout time.Duration
	Now         func() time.Time
}

// ConfigUpdate is what Update did: the configuration as written and, when
// the endpoint changed, the test webhook sent to it (TestErr when it got
// no answer; the update stands either way, as Grid's does).
type ConfigUpdate struct {
	Config  PlatformConfigView
	Changed bool
	Test    *TestDelivery
	TestErr error
}

// ConfigView is c in Grid's shape; its id is PlatformConfig:<platform id>.
func ConfigView(c PlatformConfig) PlatformConfigView {
	v := PlatformConfigView{ID: "PlatformConfig:" + c.PlatformID, WebhookEndpoint: c.WebhookEndpoint}
	if !c.CreatedAt.IsZero() {
		v.CreatedAt = FormatTime(c.CreatedAt)
	}
	if !c.UpdatedAt.IsZero() {
		v.UpdatedAt = FormatTime(c.UpdatedAt)
	}
	return v
}

// Get returns platformID's configuration.
func (p *Platforms) Get(ctx context.Context, platformID string) (PlatformConfigView, error) {
	c, err := p.Store.PlatformConfig(ctx, platformID)
	if err != nil {
		return PlatformConfigView{}, err
	}
	c.PlatformID = platformID
	return ConfigView(c), nil
}

// checkEndpoint bounds the field (its own input rules), then applies the
// service's one URL rule through CheckEndpoint: the composition root
// injects it (publicaddr's, as delivery and the link's redirectUri apply
// it) because only the root knows whether local mode allows loopback.
func (p *Platforms) checkEndpoint(u string) error {
	switch {
	case u == "":
		return InvalidField("webhookEndpoint", "webhookEndpoint must not be empty.")
	case len(u) > MaxWebhookEndpoint:
		return InvalidField("webhookEndpoint", "webhookEndpoint must be at most %d characters.", MaxWebhookEndpoint)
	case strings.IndexFunc(u, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return InvalidField("webhookEndpoint", "webhookEndpoint must not contain spaces or control characters.")
	}
	if p.CheckEndpoint == nil {
		return Internal(errors.New("kyc: no webhook endpoint rule configured"))
	}
	if err := p.CheckEndpoint(u); err != nil {
		e := InvalidField("webhookEndpoint", "webhookEndpoint is not accepted: %v. It must be an https URL to a public host.", err)
		e.Cause = err
		return e
	}
	return nil
}

// Update applies in to platformID's configuration. A new webhook endpoint
// must pass CheckEndpoint; once it is written, a signed TEST webhook goes
// to it, as Grid sends one when the URL changes. The store's one
// conditional write says whether the endpoint changed (no read before
// it), so a request waits for that write and the test webhook; the same
// endpoint again writes nothing and sends nothing.
func (p *Platforms) Update(ctx context.Context, platformID string, in PlatformConfigInput) (ConfigUpdate, error) {
	if in.WebhookEndpoint == nil {
		c, err := p.Get(ctx, platformID)
		return ConfigUpdate{Config: c}, err
	}
	if err := p.checkEndpoint(*in.WebhookEndpoint); err != nil {
		return ConfigUpdate{}, err
	}
	c, changed, err := p.Store.SetWebhookEndpoint(ctx, platformID, *in.WebhookEndpoint, p.Now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return ConfigUpdate{}, err
	}
	c.PlatformID = platformID
	if !changed {
		return ConfigUpdate{Config: ConfigView(c)}, nil
	}
	up := ConfigUpdate{Config: ConfigView(c), Changed: true}
	d, err := p.send(ctx, platformID, c.WebhookEndpoint)
	if err != nil {
		up.TestErr = err
	} else {
		up.Test = &d
	}
	return up, nil
}

// SendTest sends a signed TEST webhook to platformID's endpoint now and
// returns its answer, whatever its status; no endpoint is
// WEBHOOK_ENDPOINT_NOT_SET, no answer WEBHOOK_DELIVERY_ERROR (both 400, as
// Grid's).
func (p *Platforms) SendTest(ctx context.Context, platformID string) (TestDelivery, error) {
	c, err := p.Store.PlatformConfig(ctx, platformID)
	if err != nil {
		return TestDelivery{}, err
	}
	if c.WebhookEndpoint == "" {
		return TestDelivery{}, Errorf(CodeWebhookEndpointNotSet, "No webhook endpoint is set; set one with PATCH /config.")
	}
	return p.send(ctx, platformID, c.WebhookEndpoint)
}

func (p *Platforms) send(ctx context.Context, platformID, url string) (TestDelivery, error) {
	if err := p.checkEndpoint(url); err != nil {
		if e := AsError(err); e.Code == CodeInvalid {
			// A URL kept from before the rule: say so, as a delivery error.
			return TestDelivery{}, &Error{Code: CodeWebhookDeliveryError, Message: e.Message, Cause: err}
		}
		return TestDelivery{}, err
	}
	if p.Sender == nil {
		return TestDelivery{}, Internal(errors.New("kyc: no test webhook sender configured"))
	}
	timeout := p.TestTimeout
	if timeout == 0 {
		timeout = DefaultTestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d, err := p.Sender.SendTestWebhook(ctx, platformID, url)
	if err != nil {
		msg := "The test webhook got no answer from the webhook endpoint."
		var f *DeliveryFailure
		if errors.As(err, &f) && f.Reason != "" {
			msg = fmt.Sprintf("The test webhook got no answer from the webhook endpoint: %s.", f.Reason)
		}
		return TestDelivery{}, &Error{Code: CodeWebhookDeliveryError, Message: msg, Cause: err}
	}
	if d.URL == "" {
		d.URL = url
	}
	return d, nil
}

package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// The platform API's routes: Grid's customers, the platform's webhook
// endpoint and its test (api/openapi.yaml).
const (
	CreateCustomerRoute = "POST /customers"
	ListCustomersRoute  = "GET /customers"
	GetCustomerRoute    = "GET /customers/{customerId}"
	UpdateCustomerRoute = "PATCH /customers/{customerId}"
	DeleteCustomerRoute = "DELETE /customers/{customerId}"
	GetConfigRoute      = "GET /config"
	UpdateConfigRoute   = "PATCH /config"
	TestWebhookRoute    = "POST /sandbox/webhooks/test"

	// Contact verification (Grid's verify-email, verify-phone and their
	// confirmations).
	VerifyEmailRoute  = "POST /customers/{customerId}/verify-email"
	ConfirmEmailRoute = "POST /customers/{customerId}/verify-email/confirm"
	VerifyPhoneRoute  = "POST /customers/{customerId}/verify-phone"
	ConfirmPhoneRoute = "POST /customers/{customerId}/verify-phone/confirm"
)

// Platform serves the platform API behind HTTP Basic (its rows have the
// pipeline authenticate): a platform sees and changes only its own
// customers and configuration (another platform's customer is the same 404
// as an unknown one).
type Platform struct {
	Customers *kyc.Customers
	Platforms *kyc.Platforms
	Contacts  *kyc.ContactVerifications
	// Documents and Verifications serve Grid's direct-API verification.
	Documents     *kyc.Documents
	Verifications *kyc.Verifications
	// Uploads is the direct-upload extension.
	Uploads *kyc.DirectUploads
	// Owners are a business's beneficial owners (KYB).
	Owners *kyc.BeneficialOwners
}

// answer renders v as a 200 (or status) JSON answer, or err.
func answer(q *request, status int, v any, err error) response {
	if err != nil {
		return q.fail(err)
	}
	return jsonResponse(status, v)
}

func (p *Platform) create(q *request) response {
	in, err := kyc.ParseCustomerInput(q.body)
	if err != nil {
		return q.fail(err)
	}
	// The identifier's and tax id's seals start now, for the id the new
	// customer gets, alongside the key's acquire: a first request pays one
	// round trip for both, and a replay waits for neither. That id is the
	// intent a fresh record gets; a record taken over keeps its first
	// attempt's, under which Create seals again.
	pending := p.Customers.StartCreate(q.ctx, q.platformID, in)
	// intent names the customer: every attempt of one key and body
	// creates (or finds) the same one.
	return q.onceAs(pending.Intent(), func(ctx context.Context, intent string) response {
		c, err := pending.Create(ctx, intent)
		q.customerID = c.ID
		return answer(q, http.StatusCreated, c, err)
	})
}

func (p *Platform) list(q *request) response {
	lq, err := kyc.ParseListQuery(q.r.URL.Query())
	if err != nil {
		return q.fail(err)
	}
	l, err := p.Customers.List(q.ctx, q.platformID, lq)
	return answer(q, http.StatusOK, l, err)
}

func (p *Platform) get(q *request) response {
	c, err := p.Customers.Get(q.ctx, q.platformID, q.customerID)
	return answer(q, http.StatusOK, c, err)
}

func (p *Platform) update(q *request) response {
	in, err := kyc.ParseCustomerInput(q.body)
	if err != nil {
		return q.fail(err)
	}
	c, err := p.Customers.Update(q.ctx, q.platformID, q.customerID, in)
	return answer(q, http.StatusOK, c, err)
}

func (p *Platform) delete(q *request) response {
	c, err := p.Customers.Delete(q.ctx, q.platformID, q.customerID)
	return answer(q, http.StatusOK, c, err)
}

func (p *Platform) getConfig(q *request) response {
	c, err := p.Platforms.Get(q.ctx, q.platformID)
	return answer(q, http.StatusOK, c, err)
}

func (p *Platform) updateConfig(q *request) response {
	in, err := kyc.ParsePlatformConfigInput(q.body)
	if err != nil {
		return q.fail(err)
	}
	u, err := p.Platforms.Update(q.ctx, q.platformID, in)
	if err == nil && u.Test != nil {
		q.attrs = append(q.attrs, slog.Int("test_webhook_status", u.Test.Status))
	}
	if err == nil && u.TestErr != nil {
		// The change stands (as Grid's does); the log says the test failed.
		q.attrs = append(q.attrs, slog.String("test_webhook_error", u.TestErr.Error()))
	}
	return answer(q, http.StatusOK, u.Config, err)
}

// testWebhook takes no body (Grid's route has none); one sent is not read.
func (p *Platform) testWebhook(q *request) response {
	d, err := p.Platforms.SendTest(q.ctx, q.platformID)
	return answer(q, http.StatusOK, d, err)
}

// sendCode sends a one-time code on ch: 204 with no body and no
// Content-Type (Grid's CLI reads a JSON 204 as a failure). Grid's route
// has no body; one sent is not read.
func (p *Platform) sendCode(ch kyc.Channel) func(*request) response {
	return func(q *request) response {
		q.attrs = append(q.attrs, slog.String("channel", string(ch)))
		if err := p.Contacts.Send(q.ctx, q.platformID, q.customerID, ch); err != nil {
			return q.fail(err)
		}
		return response{Status: http.StatusNoContent, Header: http.Header{}}
	}
}

// confirmCode confirms the code in the body on ch: 200 with the customer.
func (p *Platform) confirmCode(ch kyc.Channel) func(*request) response {
	return func(q *request) response {
		q.attrs = append(q.attrs, slog.String("channel", string(ch)))
		code, err := kyc.ParseCodeInput(q.body)
		if err != nil {
			return q.fail(err)
		}
		c, err := p.Contacts.Confirm(q.ctx, q.platformID, q.customerID, ch, code)
		return answer(q, http.StatusOK, c, err)
	}
}

package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
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
)

// Platform serves the platform API behind HTTP Basic: a platform sees and
// changes only its own customers and configuration (another platform's
// customer is the same 404 as an unknown one).
type Platform struct {
	Auth      Authenticator
	Customers *kyc.Customers
	Platforms *kyc.Platforms
	// Idempotency makes POST /customers safe to retry with an
	// Idempotency-Key; nil ignores the (still validated) header.
	Idempotency *idempotency.Guard
}

// routes are the platform API's rows of the routing table.
func (p *Platform) routes(s *Server) []route {
	return []route{
		{CreateCustomerRoute, s.api(CreateCustomerRoute, p.authed(p.create))},
		{ListCustomersRoute, s.api(ListCustomersRoute, p.authed(p.list))},
		{GetCustomerRoute, s.api(GetCustomerRoute, p.authed(p.get))},
		{UpdateCustomerRoute, s.api(UpdateCustomerRoute, p.authed(p.update))},
		{DeleteCustomerRoute, s.api(DeleteCustomerRoute, p.authed(p.delete))},
		{GetConfigRoute, s.api(GetConfigRoute, p.authed(p.getConfig))},
		{UpdateConfigRoute, s.api(UpdateConfigRoute, p.authed(p.updateConfig))},
		{TestWebhookRoute, s.api(TestWebhookRoute, p.authed(p.testWebhook))},
	}
}

// authed authenticates the platform before serve runs.
func (p *Platform) authed(serve func(*request) response) func(*request) response {
	return func(q *request) response {
		var err error
		if q.platformID, err = p.Auth.Authenticate(q.ctx, q.r.Header.Get("Authorization")); err != nil {
			return q.fail(kyc.Reword(err, "Authentication is temporarily unavailable."))
		}
		return serve(q)
	}
}

// answer renders v as a 200 (or status) JSON answer, or err.
func answer(q *request, status int, v any, err error) response {
	if err != nil {
		return q.fail(err)
	}
	return jsonResponse(status, v)
}

func (p *Platform) create(q *request) response {
	key, err := idempotencyKey(q.r.Header)
	if err != nil {
		return q.fail(err)
	}
	body, err := readBody(q.r)
	if err != nil {
		return q.fail(err)
	}
	in, err := kyc.ParseCustomerInput(body)
	if err != nil {
		return q.fail(err)
	}
	// intent names the customer: every attempt of one key and body
	// creates (or finds) the same one.
	create := func(ctx context.Context, intent string) response {
		c, err := p.Customers.Create(ctx, q.platformID, in, intent)
		q.customerID = c.ID
		return answer(q, http.StatusCreated, c, err)
	}
	if key == "" || p.Idempotency == nil {
		return create(q.ctx, "")
	}
	resp, replayed, err := p.Idempotency.Do(q.ctx, q.platformID, key, idempotency.Payload{Method: "POST", Path: "/customers", Body: body}, create)
	return guarded(q, resp, replayed, err)
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
	q.customerID = q.r.PathValue("customerId")
	c, err := p.Customers.Get(q.ctx, q.platformID, q.customerID)
	return answer(q, http.StatusOK, c, err)
}

func (p *Platform) update(q *request) response {
	q.customerID = q.r.PathValue("customerId")
	body, err := readBody(q.r)
	if err != nil {
		return q.fail(err)
	}
	in, err := kyc.ParseCustomerInput(body)
	if err != nil {
		return q.fail(err)
	}
	c, err := p.Customers.Update(q.ctx, q.platformID, q.customerID, in)
	return answer(q, http.StatusOK, c, err)
}

func (p *Platform) delete(q *request) response {
	q.customerID = q.r.PathValue("customerId")
	c, err := p.Customers.Delete(q.ctx, q.platformID, q.customerID)
	return answer(q, http.StatusOK, c, err)
}

func (p *Platform) getConfig(q *request) response {
	c, err := p.Platforms.Get(q.ctx, q.platformID)
	return answer(q, http.StatusOK, c, err)
}

func (p *Platform) updateConfig(q *request) response {
	body, err := readBody(q.r)
	if err != nil {
		return q.fail(err)
	}
	in, err := kyc.ParsePlatformConfigInput(body)
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

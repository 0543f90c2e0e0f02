package httpapi

import (
	"context"
	"net/http"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Grid's beneficial owner routes (api/openapi.yaml).
const (
	CreateOwnerRoute = "POST /beneficial-owners"
	ListOwnersRoute  = "GET /beneficial-owners"
	GetOwnerRoute    = "GET /beneficial-owners/{beneficialOwnerId}"
	UpdateOwnerRoute = "PATCH /beneficial-owners/{beneficialOwnerId}"
)

func (p *Platform) createOwner(q *request) response {
	in, err := kyc.ParseOwnerCreate(q.body)
	if err != nil {
		return q.fail(err)
	}
	if in.CustomerID != nil && kyc.CheckCustomerID(*in.CustomerID) == nil {
		q.customerID = *in.CustomerID // for the log: only an id
	}
	return q.once(func(ctx context.Context, intent string) response {
		o, err := p.Owners.Create(ctx, q.platformID, in, intent)
		return answer(q, http.StatusCreated, o, err)
	})
}

func (p *Platform) listOwners(q *request) response {
	lq, err := kyc.ParseOwnerListQuery(q.r.URL.Query())
	if err != nil {
		return q.fail(err)
	}
	q.customerID = lq.CustomerID
	l, err := p.Owners.List(q.ctx, q.platformID, lq)
	return answer(q, http.StatusOK, l, err)
}

func (p *Platform) getOwner(q *request) response {
	o, err := p.Owners.Get(q.ctx, q.platformID, q.r.PathValue("beneficialOwnerId"))
	return answer(q, http.StatusOK, o, err)
}

func (p *Platform) updateOwner(q *request) response {
	in, err := kyc.ParseOwnerUpdate(q.body)
	if err != nil {
		return q.fail(err)
	}
	o, err := p.Owners.Update(q.ctx, q.platformID, q.r.PathValue("beneficialOwnerId"), in)
	return answer(q, http.StatusOK, o, err)
}

package kyc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// BeneficialOwners is the platform API's beneficial owner use case:
// Grid's /beneficial-owners routes. Owners are kept with their business
// (Customer.Owners): every change is a versioned write of the business,
// so concurrent changes never lose one another, and the business's GET,
// list and webhooks carry them without another read.
type BeneficialOwners struct {
	Customers *Customers // the store, the sealer, the clock and the cursor key
	Store     OwnerRecords
	NewID     func() (uuid.UUID, error)
}

func (s *BeneficialOwners) newID() (uuid.UUID, error) {
	if s.NewID != nil {
		return s.NewID()
	}
	return uuid.NewV7()
}

// CheckOwnerID accepts what can be an owner id; anything else names no
// owner.
func CheckOwnerID(id string) bool {
	return strings.HasPrefix(id, OwnerIDPrefix) && CheckCustomerID(id) == nil
}

// business reads platformID's business customerID for an owner's create:
// unknown, another platform's and deleted are one CustomerNotFound; an
// individual is an input error.
func (s *BeneficialOwners) business(ctx context.Context, platformID, customerID string) (Customer, error) {
	c, err := s.Customers.Store.CustomerRecord(ctx, customerID)
	if e := AsError(err); err != nil && e.Code == CodeNotFound {
		return Customer{}, CustomerNotFound()
	}
	if err != nil {
		return Customer{}, err
	}
	if c.PlatformID != platformID || c.IsDeleted {
		return Customer{}, CustomerNotFound()
	}
	if c.Type != Business {
		return Customer{}, InvalidField("customerId", "The customer is an INDIVIDUAL customer; beneficial owners belong to BUSINESS customers.")
	}
	return c, nil
}

// Create adds a beneficial owner to one of platformID's business
// customers. intent (an idempotent request's UUID) names the owner, so a
// retry whose first attempt landed answers that owner.
func (s *BeneficialOwners) Create(ctx context.Context, platformID string, in OwnerInput, intent string) (OwnerView, error) {
	now := s.Customers.now()
	if err := in.check(true, now); err != nil {
		return OwnerView{}, err
	}
	id := intent
	if id == "" {
		u, err := s.newID()
		if err != nil {
			return OwnerView{}, Internal(fmt.Errorf("kyc: new owner id: %w", err))
		}
		id = u.String()
	}
	id = OwnerIDPrefix + id
	// The seal needs only the owner's id and the platform: beside the read.
	pending := s.Customers.startSeal(ctx, *in.PersonalInfo.Identifier, id, platformID)
	var sealed []byte
	for range maxAttempts {
		prev, err := s.business(ctx, platformID, *in.CustomerID)
		if err != nil {
			return OwnerView{}, err
		}
		if o, ok := prev.Owner(id); ok {
			return OwnerViewOf(prev.ID, o), nil // an earlier attempt of this request
		}
		if st := prev.StatusOf(); st == StatusPending || st == StatusHold {
			// The provider has the business's owners already: one added
			// now would never be reviewed with it.
			return OwnerView{}, Conflict(ReasonVerificationInProgress,
				"The business is being reviewed (kybStatus "+string(st)+"); add owners once its decision is in (a VERIFICATION.* or CUSTOMER.* webhook).")
		}
		if len(prev.Owners) >= MaxOwnersPerBusiness {
			return OwnerView{}, InvalidField("customerId", "The business has %d beneficial owners, the most one business may have; change one with PATCH /beneficial-owners/{beneficialOwnerId} instead.", MaxOwnersPerBusiness)
		}
		if sealed == nil {
			if sealed, err = s.Customers.sealed(ctx, pending, *in.PersonalInfo.Identifier, Customer{ID: id, PlatformID: platformID}); err != nil {
				return OwnerView{}, err
			}
		}
		now = s.Customers.now()
		o := in.apply(BeneficialOwner{ID: id, CreatedAt: now, UpdatedAt: now}, sealed)
		next := prev
		next.Owners = append(CloneOwners(prev.Owners), o)
		next.UpdatedAt, next.Version = now, prev.Version+1
		err = s.Store.InsertOwner(ctx, prev, next, id)
		switch {
		case errors.Is(err, ErrChanged):
			continue
		case errors.Is(err, ErrOwnerExists):
			v, gerr := s.Get(ctx, platformID, id)
			if gerr != nil {
				return OwnerView{}, Internal(fmt.Errorf("kyc: owner %s exists but is not the platform's: %w", id, gerr))
			}
			return v, nil
		case err != nil:
			return OwnerView{}, err
		}
		return OwnerViewOf(next.ID, o), nil
	}
	return OwnerView{}, concurrentModification()
}

// locate reads the business of platformID's owner id; an owner that is
// not the platform's is OwnerNotFound.
func (s *BeneficialOwners) locate(ctx context.Context, platformID, id string) (Customer, BeneficialOwner, error) {
	if !CheckOwnerID(id) {
		return Customer{}, BeneficialOwner{}, OwnerNotFound()
	}
	cid, err := s.Store.OwnerCustomerID(ctx, id)
	if err != nil {
		return Customer{}, BeneficialOwner{}, err
	}
	c, err := s.Customers.Store.CustomerRecord(ctx, cid)
	if e := AsError(err); err != nil && e.Code == CodeNotFound {
		return Customer{}, BeneficialOwner{}, OwnerNotFound()
	}
	if err != nil {
		return Customer{}, BeneficialOwner{}, err
	}
	o, ok := c.Owner(id)
	if c.PlatformID != platformID || !ok {
		return Customer{}, BeneficialOwner{}, OwnerNotFound()
	}
	return c, o, nil
}

// Get returns platformID's owner id (a deleted business's owners stay
// readable while the business is).
func (s *BeneficialOwners) Get(ctx context.Context, platformID, id string) (OwnerView, error) {
	c, o, err := s.locate(ctx, platformID, id)
	if err != nil {
		return OwnerView{}, err
	}
	return OwnerViewOf(c.ID, o), nil
}

// Update applies in to platformID's owner id with Grid's merge rules,
// conditioned on the business's version: a write that lost a race reads
// and applies again, so concurrent changes all survive. A request that
// changes nothing writes nothing.
func (s *BeneficialOwners) Update(ctx context.Context, platformID, id string, in OwnerInput) (OwnerView, error) {
	if !CheckOwnerID(id) {
		return OwnerView{}, OwnerNotFound()
	}
	if err := in.check(false, s.Customers.now()); err != nil {
		return OwnerView{}, err
	}
	var pending *pendingSeal
	if p := in.PersonalInfo; p != nil && p.Identifier != nil {
		pending = s.Customers.startSeal(ctx, *p.Identifier, id, platformID)
	}
	var sealed []byte
	for range maxAttempts {
		prev, o, err := s.locate(ctx, platformID, id)
		if err != nil {
			return OwnerView{}, err
		}
		if prev.IsDeleted {
			return OwnerView{}, CustomerDeleted()
		}
		if pending != nil && sealed == nil {
			if sealed, err = s.Customers.sealed(ctx, pending, *in.PersonalInfo.Identifier, Customer{ID: id, PlatformID: platformID}); err != nil {
				return OwnerView{}, err
			}
		}
		changed := in.apply(o, sealed)
		if sameOwner(o, changed) {
			return OwnerViewOf(prev.ID, o), nil
		}
		now := s.Customers.now()
		changed.UpdatedAt = now
		next := prev
		next.Owners = CloneOwners(prev.Owners)
		for i := range next.Owners {
			if next.Owners[i].ID == id {
				next.Owners[i] = changed
			}
		}
		next.UpdatedAt, next.Version = now, prev.Version+1
		err = s.Customers.Store.UpdateCustomer(ctx, prev, next)
		if errors.Is(err, ErrChanged) {
			continue
		}
		if err != nil {
			return OwnerView{}, err
		}
		return OwnerViewOf(prev.ID, changed), nil
	}
	return OwnerView{}, concurrentModification()
}

// OwnerListQuery is GET /beneficial-owners' query.
type OwnerListQuery struct {
	CustomerID string
	Limit      int
	Cursor     string
}

// OwnerList is Grid's BeneficialOwnerListResponse.
type OwnerList struct {
	Data       []OwnerView `json:"data"`
	HasMore    bool        `json:"hasMore"`
	NextCursor string      `json:"nextCursor,omitempty"`
	TotalCount int         `json:"totalCount"`
}

// ParseOwnerListQuery reads GET /beneficial-owners' parameters.
func ParseOwnerListQuery(params map[string][]string) (OwnerListQuery, error) {
	var q OwnerListQuery
	err := parseQuery(params, []string{"customerId", "limit", "cursor"}, func(errs *fieldErrors, name, v string) {
		switch name {
		case "customerId":
			if CheckCustomerID(v) != nil || !strings.HasPrefix(v, CustomerIDPrefix) {
				errs.add(name, "customerId must be a customer id (Customer:…).")
			}
			q.CustomerID = v
		case "limit":
			q.Limit = parseLimit(errs, v)
		case "cursor":
			q.Cursor = parseCursorParam(errs, v)
		}
	})
	if err == nil && q.CustomerID == "" {
		err = InvalidField("customerId", "customerId is required: the business customer whose owners to list.")
	}
	return q, err
}

// List returns a page of the owners of platformID's business
// q.CustomerID, oldest first. A customer that is not the platform's
// business has none: the same empty page, whatever the reason.
func (s *BeneficialOwners) List(ctx context.Context, platformID string, q OwnerListQuery) (OwnerList, error) {
	const domain = "kyc-link beneficial owners cursor v1"
	limit, key, after, err := startPage(ctx, s.Customers.CursorKey, q.Limit, domain, platformID, q.CustomerID, q.Cursor)
	if err != nil {
		return OwnerList{}, err
	}
	out := OwnerList{Data: []OwnerView{}}
	c, err := s.Customers.Store.CustomerRecord(ctx, q.CustomerID)
	if e := AsError(err); err != nil && e.Code == CodeNotFound {
		return out, nil
	}
	if err != nil {
		return OwnerList{}, err
	}
	if c.PlatformID != platformID || c.Type != Business {
		return out, nil
	}
	owners := slices.Clone(c.Owners)
	slices.SortFunc(owners, func(a, b BeneficialOwner) int { return strings.Compare(a.ListPosition(), b.ListPosition()) })
	out.TotalCount = len(owners)
	for _, o := range owners {
		if o.ListPosition() <= after {
			continue
		}
		if len(out.Data) == limit {
			out.HasMore = true
			out.NextCursor = sealCursorIn(domain, key, platformID, q.CustomerID, owners[indexOf(owners, out.Data[limit-1].ID)].ListPosition())
			break
		}
		out.Data = append(out.Data, OwnerViewOf(c.ID, o))
	}
	return out, nil
}

func indexOf(owners []BeneficialOwner, id string) int {
	return slices.IndexFunc(owners, func(o BeneficialOwner) bool { return o.ID == id })
}

// OwnerLocator finds an owner's business (OwnerRecords' read).
type OwnerLocator interface {
	OwnerCustomerID(ctx context.Context, ownerID string) (string, error)
}

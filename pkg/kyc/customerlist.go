package kyc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ListQuery is GET /customers' query: Grid's filters (platformCustomerId,
// customerType, region, currency, umaAddress, created/updated bounds, all
// inclusive, isIncludingDeleted, limit, cursor) and, beyond Grid, for
// reconciliation, kycStatus and kybStatus ("every customer still
// PENDING"). Zero values filter nothing.
type ListQuery struct {
	PlatformCustomerID string
	CustomerType       CustomerType
	Region             string
	Currency           string
	UmaAddress         string
	CreatedAfter       time.Time
	CreatedBefore      time.Time
	UpdatedAfter       time.Time
	UpdatedBefore      time.Time
	IncludeDeleted     bool
	KYCStatus          Status
	KYBStatus          Status
	// Limit is 1 to MaxListLimit (DefaultListLimit when 0).
	Limit int
	// Cursor is a previous page's NextCursor, for the same filters.
	Cursor string
}

// Page sizes of GET /customers.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// CustomerList is one page of GET /customers: Grid's CustomerListResponse
// (no totalCount: it would cost a read of all the platform's customers).
type CustomerList struct {
	Data       []CustomerView `json:"data"`
	HasMore    bool           `json:"hasMore"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

// listParams are the query parameters GET /customers takes.
var listParams = []string{"platformCustomerId", "customerType", "region", "currency", "umaAddress",
	"createdAfter", "createdBefore", "updatedAfter", "updatedBefore", "isIncludingDeleted",
	"kycStatus", "kybStatus", "limit", "cursor"}

// ParseListQuery reads GET /customers' query parameters (as url.Values
// holds them). An unknown or repeated parameter, or a bad value, is an
// InvalidField naming the parameter.
func ParseListQuery(params map[string][]string) (ListQuery, error) {
	var q ListQuery
	err := parseQuery(params, listParams, func(errs *fieldErrors, name, v string) {
		switch name {
		case "platformCustomerId":
			checkText(errs, name, v, MaxPlatformCustomerID)
			q.PlatformCustomerID = v
		case "customerType":
			if !slices.Contains(customerTypes, v) {
				errs.addc(name, &FieldConstraint{Enum: customerTypes}, "customerType must be INDIVIDUAL or BUSINESS.")
			}
			q.CustomerType = CustomerType(v)
		case "region":
			checkCountry(errs, name, v)
			q.Region = v
		case "currency":
			if !currencyPattern.MatchString(v) {
				errs.addc(name, &FieldConstraint{Pattern: currencyPattern.String()}, "currency must be a currency code in upper case, such as USD.")
			}
			q.Currency = v
		case "umaAddress":
			u, ok := normalizeUmaAddress(v)
			if !ok {
				errs.add(name, "umaAddress must look like $username@domain.example.")
			}
			q.UmaAddress = u
		case "createdAfter", "createdBefore", "updatedAfter", "updatedBefore":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				errs.addc(name, &FieldConstraint{Format: "date-time"}, "%s must be an RFC 3339 date-time such as 2025-10-13T12:00:00Z.", name)
			}
			*map[string]*time.Time{"createdAfter": &q.CreatedAfter, "createdBefore": &q.CreatedBefore,
				"updatedAfter": &q.UpdatedAfter, "updatedBefore": &q.UpdatedBefore}[name] = t.UTC()
		case "isIncludingDeleted":
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				errs.add(name, "isIncludingDeleted must be true or false.")
			}
			q.IncludeDeleted = b
		case "kycStatus", "kybStatus":
			if !slices.Contains(statuses, v) {
				errs.addc(name, &FieldConstraint{Enum: statuses}, "%s must be one of %s.", name, strings.Join(statuses, ", "))
			}
			if name == "kycStatus" {
				q.KYCStatus = Status(v)
			} else {
				q.KYBStatus = Status(v)
			}
		case "limit":
			q.Limit = parseLimit(errs, v)
		case "cursor":
			q.Cursor = parseCursorParam(errs, v)
		}
	})
	if err != nil {
		return ListQuery{}, err
	}
	return q, nil
}

// matches reports whether r passes q's filters.
func (q ListQuery) matches(r Customer, v CustomerView) bool {
	switch {
	case r.IsDeleted && !q.IncludeDeleted,
		q.PlatformCustomerID != "" && v.PlatformCustomerID != q.PlatformCustomerID,
		q.CustomerType != "" && v.CustomerType != q.CustomerType,
		q.Region != "" && r.Region != q.Region,
		q.Currency != "" && !slices.Contains(r.Currencies, q.Currency),
		q.UmaAddress != "" && v.UmaAddress != q.UmaAddress,
		!q.CreatedAfter.IsZero() && r.CreatedAt.Before(q.CreatedAfter),
		!q.CreatedBefore.IsZero() && r.CreatedAt.After(q.CreatedBefore),
		!q.UpdatedAfter.IsZero() && r.UpdatedAt.Before(q.UpdatedAfter),
		!q.UpdatedBefore.IsZero() && r.UpdatedAt.After(q.UpdatedBefore),
		q.KYCStatus != "" && v.KYCStatus != q.KYCStatus,
		q.KYBStatus != "" && v.KYBStatus != q.KYBStatus:
		return false
	}
	return true
}

// filters is q without limit and cursor, as the cursor binds it: a cursor
// continues only the listing it came from.
func (q ListQuery) filters() string {
	t := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return strings.Join([]string{q.PlatformCustomerID, string(q.CustomerType), q.Region, q.Currency, q.UmaAddress,
		t(q.CreatedAfter), t(q.CreatedBefore), t(q.UpdatedAfter), t(q.UpdatedBefore),
		strconv.FormatBool(q.IncludeDeleted), string(q.KYCStatus), string(q.KYBStatus)}, "\x00")
}

// Reads of one list request: at most listReads store reads of listPage
// records when filters leave most records out, so a page costs a bounded
// read and may come back short (hasMore tells the truth; the cursor goes
// on from the last record read).
const (
	listReads = 5
	listPage  = 100
)

// List returns a page of platformID's customers matching q, oldest first
// (creation time, then id), served by range reads of the store's
// by-platform index, never a scan of all customers. Walking every page
// returns each customer that exists throughout the walk exactly once;
// customers created meanwhile appear at most once. The index is
// eventually consistent: a customer created or changed a moment ago may
// be missing from a page or show its previous data; GET /customers/{id}
// reads consistently. A filter on platformCustomerId (active customers)
// is one consistent lookup.
func (s *Customers) List(ctx context.Context, platformID string, q ListQuery) (CustomerList, error) {
	limit := q.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}
	if limit < 1 || limit > MaxListLimit {
		return CustomerList{}, InvalidField("limit", "limit must be a whole number from 1 to %d.", MaxListLimit)
	}
	key, err := s.cursorKey(ctx)
	if err != nil {
		return CustomerList{}, err
	}
	after := ""
	if q.Cursor != "" {
		if after, err = openCursor(key, platformID, q.filters(), q.Cursor); err != nil {
			return CustomerList{}, err
		}
	}
	out := CustomerList{Data: []CustomerView{}}
	if q.PlatformCustomerID != "" && !q.IncludeDeleted {
		if after != "" { // the single page has no next
			return out, nil
		}
		id, found, err := s.Store.ActiveCustomerID(ctx, platformID, q.PlatformCustomerID)
		if err != nil || !found {
			return out, err
		}
		r, err := s.Store.CustomerRecord(ctx, id)
		if e := AsError(err); err != nil && e.Code == CodeNotFound {
			return out, nil
		}
		if err != nil {
			return CustomerList{}, err
		}
		if v := s.View(r); r.PlatformID == platformID && q.matches(r, v) {
			out.Data = append(out.Data, v)
		}
		return out, nil
	}
	rq := RangeQuery{PlatformID: platformID, After: after, Limit: limit + 1}
	if !q.CreatedAfter.IsZero() {
		rq.From = FormatTime(q.CreatedAfter.Truncate(time.Millisecond))
	}
	if !q.CreatedBefore.IsZero() {
		rq.To = FormatTime(q.CreatedBefore.Truncate(time.Millisecond).Add(time.Millisecond))
	}
	if q.filters() != (ListQuery{CreatedAfter: q.CreatedAfter, CreatedBefore: q.CreatedBefore}).filters() {
		rq.Limit = max(rq.Limit, listPage) // filters will drop records
	}
	var matched []CustomerView
	var positions []string
	lastRead := ""
	size := 0
	for range listReads {
		recs, more, err := s.Store.CustomerRange(ctx, rq)
		if err != nil {
			return CustomerList{}, err
		}
		for _, r := range recs {
			lastRead = r.ListPosition()
			if r.PlatformID != platformID {
				continue // a store's bug must not leak another platform's customer
			}
			if v := s.View(r); q.matches(r, v) {
				// A page ends early rather than outgrow what Lambda can
				// answer (businesses carry their owners).
				if size += viewSize(v); size > MaxListBytes && len(matched) > 0 {
					out.Data, out.HasMore = matched, true
					out.NextCursor = sealCursor(key, platformID, q.filters(), positions[len(matched)-1])
					return out, nil
				}
				matched, positions = append(matched, v), append(positions, lastRead)
				if len(matched) > limit {
					out.Data, out.HasMore = matched[:limit], true
					out.NextCursor = sealCursor(key, platformID, q.filters(), positions[limit-1])
					return out, nil
				}
			}
		}
		if !more || len(recs) == 0 {
			out.Data = append(out.Data, matched...)
			return out, nil
		}
		rq.After = lastRead
	}
	// The read budget is spent: a short page, and the cursor goes on
	// after the last record read.
	out.Data = append(out.Data, matched...)
	out.HasMore = true
	out.NextCursor = sealCursor(key, platformID, q.filters(), lastRead)
	return out, nil
}

// MaxListBytes bounds a page of customers' JSON: its answer, JSON-escaped
// once more in the API Gateway response, stays well within the 6 MB a
// Lambda invocation answers, whatever its businesses' owners hold. A page
// reaching it ends early (hasMore, nextCursor); one customer always fits.
const MaxListBytes = 2 << 20

// viewSize is v's size in a list's JSON.
func viewSize(v CustomerView) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0 // never for these types; the encoder reports it again
	}
	return len(b) + 1
}

func (s *Customers) cursorKey(ctx context.Context) ([]byte, error) {
	return listCursorKey(ctx, s.CursorKey)
}

// listCursorKey reads the key every list's cursors are signed with.
func listCursorKey(ctx context.Context, cursorKey func(context.Context) ([]byte, error)) ([]byte, error) {
	if cursorKey == nil {
		return nil, Internal(errors.New("kyc: no cursor key configured"))
	}
	key, err := cursorKey(ctx)
	if err != nil {
		return nil, err
	}
	if len(key) < 16 {
		return nil, Internal(fmt.Errorf("kyc: the cursor key has %d bytes; at least 16 are needed", len(key)))
	}
	return key, nil
}

// Cursors are base64url(position) "." base64url(HMAC-SHA256(key,
// "kyc-link customers cursor v1" | platform | filters | position)): opaque
// to the platform, and a cursor changed in any bit, made up, issued to
// another platform or for other filters fails the MAC and is an input
// error. The position (a creation time and a customer id of the caller's
// own) is not secret.
const cursorDomain = "kyc-link customers cursor v1"

func cursorMAC(domain string, key []byte, platformID, filters, position string) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{domain, platformID, filters, position} {
		m.Write([]byte(strconv.Itoa(len(part))))
		m.Write([]byte{':'})
		m.Write([]byte(part))
	}
	return m.Sum(nil)
}

func sealCursor(key []byte, platformID, filters, position string) string {
	return sealCursorIn(cursorDomain, key, platformID, filters, position)
}

func openCursor(key []byte, platformID, filters, cursor string) (string, error) {
	return openCursorIn(cursorDomain, key, platformID, filters, cursor)
}

// sealCursorIn and openCursorIn are the cursors of every list: domain
// names the list, so a cursor of one list never opens another's.
func sealCursorIn(domain string, key []byte, platformID, filters, position string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(position)) + "." + enc.EncodeToString(cursorMAC(domain, key, platformID, filters, position))
}

func openCursorIn(domain string, key []byte, platformID, filters, cursor string) (string, error) {
	bad := InvalidField("cursor", "cursor is not a nextCursor this listing returned; start again without a cursor.")
	enc := base64.RawURLEncoding.Strict() // one spelling per cursor
	p, m, ok := strings.Cut(cursor, ".")
	if !ok {
		return "", bad
	}
	position, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, cursorMAC(domain, key, platformID, filters, string(position))) {
		return "", bad
	}
	return string(position), nil
}

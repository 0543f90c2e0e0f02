package awsstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

var _ kyc.OwnerRecords = (*Customers)(nil)

// A business's beneficial owners live in its customer item, split by
// writer so that neither loses the other's write:
//
//   - attrOwners holds the platform's data of every owner (L of M, in
//     creation order, no review data). The platform API's writes
//     (InsertCustomer, UpdateCustomer, InsertOwner) set it whole, under
//     the customer's version condition, when it differs.
//   - Each owner's review data is in top-level attributes of its own,
//     named ownerReviewPrefix + owner id + "#" + field (the customer's
//     own review attributes' names), written only by the reviews
//     (ApplyChange) and the verification's write. Top-level, so that a
//     submission can set one owner's status and drop its reasons while
//     keeping its last review without knowing it (a nested path cannot
//     be SET under a map that does not exist yet, and a whole map would
//     put back a last review read before a concurrent review).
//
// An owner without review attributes is UNVERIFIED, never reviewed.
const (
	attrOwners        = "owners" // L of M
	ownerReviewPrefix = "owner#"

	// The owner pointer item (same table): id = the owner's id
	// (kyc.OwnerIDPrefix…), attribute customerId, the business. It has
	// no platformId and no createdKey, so the by-platform index never
	// holds it; it is written once (InsertOwner) and never changes.
	attrOwnerCustomer = "customerId"
)

// ownerReviewAttr is the name of field (attrKYCStatus, attrLastReviewAt,
// attrRejectType, attrRejectLabels) of owner id's review data. Customer
// and owner ids hold no '#' (kyc.CheckCustomerID).
func ownerReviewAttr(id, field string) string { return ownerReviewPrefix + id + "#" + field }

// ownersItem is the platform's data of owners (no review data): the
// value of attrOwners.
func ownersItem(owners []kyc.BeneficialOwner) types.AttributeValue {
	l := make([]types.AttributeValue, len(owners))
	for i, o := range owners {
		m := map[string]types.AttributeValue{"id": s(o.ID), "ownershipPercentage": n(int64(o.OwnershipPercentage))}
		for k, v := range map[string]string{"firstName": o.FirstName, "middleName": o.MiddleName, "lastName": o.LastName,
			"birthDate": o.BirthDate, "nationality": o.Nationality, "email": o.Email, "phoneNumber": o.PhoneNumber,
			"idType": o.IDType, "countryOfIssuance": o.CountryOfIssuance} {
			putIf(m, k, v)
		}
		if len(o.Roles) > 0 {
			m["roles"] = list(o.Roles)
		}
		if o.Address != (kyc.Address{}) {
			m["address"] = &types.AttributeValueMemberM{Value: addressItem(o.Address)}
		}
		if len(o.IdentifierSealed) > 0 {
			m["identifierSealed"] = b(o.IdentifierSealed) // ciphertext only
		}
		if !o.CreatedAt.IsZero() {
			m["createdAt"] = s(kyc.FormatTime(o.CreatedAt))
		}
		if !o.UpdatedAt.IsZero() {
			m["updatedAt"] = s(kyc.FormatTime(o.UpdatedAt))
		}
		l[i] = &types.AttributeValueMemberM{Value: m}
	}
	return &types.AttributeValueMemberL{Value: l}
}

// ownerReviewItem adds o's review data to item (a new customer's: the
// seed's may hold reviewed owners).
func ownerReviewItem(item map[string]types.AttributeValue, o kyc.BeneficialOwner) {
	putIf(item, ownerReviewAttr(o.ID, attrKYCStatus), string(o.KYCStatus))
	if !o.LastReviewAt.IsZero() {
		item[ownerReviewAttr(o.ID, attrLastReviewAt)] = n(o.LastReviewAt.UnixMilli())
	}
	putIf(item, ownerReviewAttr(o.ID, attrRejectType), o.RejectType)
	if len(o.RejectLabels) > 0 {
		item[ownerReviewAttr(o.ID, attrRejectLabels)] = list(o.RejectLabels)
	}
}

// ownersFromItem reads a customer item's owners: attrOwners' data, in
// its order, with each owner's review attributes.
func ownersFromItem(item map[string]types.AttributeValue) []kyc.BeneficialOwner {
	l, ok := item[attrOwners].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	var out []kyc.BeneficialOwner
	for _, v := range l.Value {
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			continue
		}
		it := m.Value
		o := kyc.BeneficialOwner{ID: str(it, "id"), Roles: strList(it, "roles"), OwnershipPercentage: int(num(it, "ownershipPercentage")),
			FirstName: str(it, "firstName"), MiddleName: str(it, "middleName"), LastName: str(it, "lastName"),
			BirthDate: str(it, "birthDate"), Nationality: str(it, "nationality"), Email: str(it, "email"),
			PhoneNumber: str(it, "phoneNumber"), IDType: str(it, "idType"), CountryOfIssuance: str(it, "countryOfIssuance"),
			CreatedAt: timeAt(it, "createdAt"), UpdatedAt: timeAt(it, "updatedAt")}
		if a, ok := it["address"].(*types.AttributeValueMemberM); ok {
			o.Address = addressFrom(a.Value)
		}
		if sealed, ok := it["identifierSealed"].(*types.AttributeValueMemberB); ok {
			o.IdentifierSealed = sealed.Value
		}
		o.KYCStatus = kyc.Status(str(item, ownerReviewAttr(o.ID, attrKYCStatus)))
		o.LastReviewAt = ms(item, ownerReviewAttr(o.ID, attrLastReviewAt))
		o.RejectType = str(item, ownerReviewAttr(o.ID, attrRejectType))
		o.RejectLabels = strList(item, ownerReviewAttr(o.ID, attrRejectLabels))
		out = append(out, o)
	}
	return out
}

// ownerIDsOf are the ids of the owners a customer item holds.
func ownerIDsOf(item map[string]types.AttributeValue) []string {
	l, ok := item[attrOwners].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	var ids []string
	for _, v := range l.Value {
		if m, ok := v.(*types.AttributeValueMemberM); ok && str(m.Value, "id") != "" {
			ids = append(ids, str(m.Value, "id"))
		}
	}
	return ids
}

func addressItem(a kyc.Address) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{}
	for k, v := range map[string]string{"line1": a.Line1, "line2": a.Line2, "city": a.City,
		"state": a.State, "postalCode": a.PostalCode, "country": a.Country} {
		putIf(m, k, v)
	}
	return m
}

func addressFrom(m map[string]types.AttributeValue) kyc.Address {
	return kyc.Address{Line1: str(m, "line1"), Line2: str(m, "line2"), City: str(m, "city"),
		State: str(m, "state"), PostalCode: str(m, "postalCode"), Country: str(m, "country")}
}

// timeAt reads an RFC 3339 time (kyc.FormatTime's); absent or unreadable
// is the zero time.
func timeAt(it map[string]types.AttributeValue, k string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, str(it, k))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// clauses gathers an UpdateItem's SET and REMOVE actions, its condition
// and the names and values they use (DynamoDB refuses a name or value no
// expression uses).
type clauses struct {
	sets, removes, conds []string
	names                map[string]string
	values               map[string]types.AttributeValue
}

func newClauses() *clauses {
	return &clauses{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

func (c *clauses) update() string {
	var parts []string
	if len(c.sets) > 0 {
		parts = append(parts, "SET "+strings.Join(c.sets, ", "))
	}
	if len(c.removes) > 0 {
		parts = append(parts, "REMOVE "+strings.Join(c.removes, ", "))
	}
	return strings.Join(parts, " ")
}

func (c *clauses) condition() string { return strings.Join(c.conds, " AND ") }

// ownerMoves adds the review moves mvs (kyc.Change.Owners) to c: each
// owner's status, last review and reasons, conditioned on its status and
// last review as read (no attribute: UNVERIFIED, never reviewed).
func ownerMoves(c *clauses, mvs []kyc.OwnerMove) {
	for i, mv := range mvs {
		p := "#o" + strconv.Itoa(i)
		st, at, rt, rl := p+"s", p+"a", p+"t", p+"l"
		c.names[st], c.names[at] = ownerReviewAttr(mv.ID, attrKYCStatus), ownerReviewAttr(mv.ID, attrLastReviewAt)
		c.names[rt], c.names[rl] = ownerReviewAttr(mv.ID, attrRejectType), ownerReviewAttr(mv.ID, attrRejectLabels)
		v := ":o" + strconv.Itoa(i)
		c.values[v+"s"], c.values[v+"w"] = s(string(mv.Status)), s(string(mv.WasStatus))
		c.sets = append(c.sets, st+" = "+v+"s")
		if mv.WasStatus == kyc.StatusUnverified {
			c.conds = append(c.conds, "(attribute_not_exists("+st+") OR "+st+" = "+v+"w)")
		} else {
			c.conds = append(c.conds, st+" = "+v+"w")
		}
		if mv.WasReviewAt.IsZero() {
			c.conds = append(c.conds, "attribute_not_exists("+at+")")
		} else {
			c.values[v+"x"] = n(mv.WasReviewAt.UnixMilli())
			c.conds = append(c.conds, at+" = "+v+"x")
		}
		if mv.ReviewAt.IsZero() {
			c.removes = append(c.removes, at)
		} else {
			c.values[v+"a"] = n(mv.ReviewAt.UnixMilli())
			c.sets = append(c.sets, at+" = "+v+"a")
		}
		if mv.RejectType != "" {
			c.values[v+"t"] = s(mv.RejectType)
			c.sets = append(c.sets, rt+" = "+v+"t")
		} else {
			c.removes = append(c.removes, rt)
		}
		if len(mv.RejectLabels) > 0 {
			c.values[v+"l"] = list(mv.RejectLabels)
			c.sets = append(c.sets, rl+" = "+v+"l")
		} else {
			c.removes = append(c.removes, rl)
		}
	}
}

// submittedOwners adds a submission's move of owners to c, each as
// kyc.SubmittedOwner leaves it (PENDING, its last review kept, its reasons
// dropped; an approved one as it is), conditioned on its status and last
// review as read (a review since makes the submission decide again).
func submittedOwners(c *clauses, owners []kyc.BeneficialOwner) {
	mvs := make([]kyc.OwnerMove, 0, len(owners))
	for _, o := range owners {
		n := kyc.SubmittedOwner(o)
		mvs = append(mvs, kyc.OwnerMove{ID: o.ID, Status: n.StatusOf(), ReviewAt: o.LastReviewAt, RejectType: n.RejectType,
			RejectLabels: n.RejectLabels, WasStatus: o.StatusOf(), WasReviewAt: o.LastReviewAt})
	}
	ownerMoves(c, mvs)
}

// OwnerCustomerID reads owner ownerID's pointer item (consistent): the id
// of its business. No pointer is kyc.OwnerNotFound.
func (c *Customers) OwnerCustomerID(ctx context.Context, ownerID string) (string, error) {
	// Anything else names no owner (and could name a marker, which has a
	// customerId too).
	if !kyc.CheckOwnerID(ownerID) {
		return "", kyc.OwnerNotFound()
	}
	out, err := c.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(c.Table),
		Key: map[string]types.AttributeValue{attrID: s(ownerID)}, ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#c"), ExpressionAttributeNames: map[string]string{"#c": attrOwnerCustomer}})
	if err != nil {
		return "", c.outage("get beneficial owner "+ownerID, err)
	}
	cid := str(out.Item, attrOwnerCustomer)
	if cid == "" {
		return "", kyc.OwnerNotFound()
	}
	return cid, nil
}

// InsertOwner writes next over prev as UpdateCustomer does (conditioned
// on prev's version and on the customer not being deleted) and owner
// ownerID's pointer item (conditioned on not existing), in one
// transaction: kyc.ErrOwnerExists when the pointer exists, checked
// first; kyc.ErrChanged when the customer moved (its version or its
// status). The owners' review attributes are not written.
func (c *Customers) InsertOwner(ctx context.Context, prev, next kyc.Customer, ownerID string) error {
	if !kyc.CheckOwnerID(ownerID) {
		return kyc.Internal(fmt.Errorf("awsstore: %q is not a beneficial owner id", ownerID))
	}
	next.Version = prev.Version + 1
	// One token on both writes: a re-send of this transaction that had
	// landed (where the request token did not make it idempotent: an
	// emulator) finds the pointer carrying it.
	token := writeToken()
	u := updateOf(prev, next, token)
	u.names["#del"] = attrIsDeleted
	u.values[":false"] = &types.AttributeValueMemberBOOL{Value: false}
	u.cond += " AND (attribute_not_exists(#del) OR #del = :false)"
	// And its status as read: a submission moves no version, and an owner
	// must not join a business under review.
	u.names["#bst"], u.values[":bst"] = statusAttr(prev.Type), s(string(prev.StatusOf()))
	if prev.StatusOf() == kyc.StatusUnverified {
		u.cond += " AND (attribute_not_exists(#bst) OR #bst = :bst)"
	} else {
		u.cond += " AND #bst = :bst"
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String(c.Table), Key: map[string]types.AttributeValue{attrID: s(prev.ID)},
			UpdateExpression: aws.String(u.expr), ConditionExpression: aws.String(u.cond),
			ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Put: &types.Put{TableName: aws.String(c.Table),
			Item:                     map[string]types.AttributeValue{attrID: s(ownerID), attrOwnerCustomer: s(prev.ID), attrWriteToken: s(token)},
			ConditionExpression:      aws.String("attribute_not_exists(#id)"),
			ExpressionAttributeNames: map[string]string{"#id": attrID},
			// The pointer as it is, to tell this write's landed re-send
			// from another owner's.
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
	}
	codes, old, err := transact(ctx, c.Client, items, c.Backoff)
	switch {
	case err == nil:
		return nil
	case failedAt(codes, 1):
		ours, cerr := c.carries(ctx, ownerID, token, oldAt(old, 1))
		if cerr != nil || ours {
			return cerr
		}
		return kyc.ErrOwnerExists
	case failedAt(codes, 0):
		return c.changed(ctx, prev.ID, token, oldAt(old, 0))
	default:
		return c.outage("insert beneficial owner "+ownerID, err)
	}
}

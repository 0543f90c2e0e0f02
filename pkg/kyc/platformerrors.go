package kyc

import (
	"fmt"
	"strings"
	"time"
)

// Codes of the platform API (customers, platform configuration, test
// webhooks), as Grid names them. The HTTP edge maps CodeCustomerDeleted to
// 410 and the two webhook codes to 400.
const (
	// CodeCustomerDeleted: the customer was deleted already (Grid's Error410).
	CodeCustomerDeleted Code = "CUSTOMER_DELETED"
	// CodeWebhookEndpointNotSet: a test webhook was asked for, but the
	// platform has no webhook endpoint (Grid's Error400).
	CodeWebhookEndpointNotSet Code = "WEBHOOK_ENDPOINT_NOT_SET"
	// CodeWebhookDeliveryError: the test webhook got no HTTP answer from the
	// platform's endpoint (Grid's Error400).
	CodeWebhookDeliveryError Code = "WEBHOOK_DELIVERY_ERROR"
)

// details.reason of the platform API's 409 CONFLICT answers.
const (
	// ReasonPlatformCustomerIDExists: the platform already has an active
	// customer with this platformCustomerId (details.field names it).
	ReasonPlatformCustomerIDExists = "PLATFORM_CUSTOMER_ID_EXISTS"
	// ReasonConcurrentModification: the customer kept changing under the
	// update (other requests won every attempt); retrying shortly succeeds.
	ReasonConcurrentModification = "CONCURRENT_MODIFICATION"
)

// CustomerDeleted is the answer for a change to a customer already
// deleted by its own platform.
func CustomerDeleted() *Error {
	return Errorf(CodeCustomerDeleted, "The customer has been deleted.")
}

// FieldError is one invalid field of a request: Grid's FieldError
// (details.errors[] of a 400). Field is the dot path from the body's root
// (businessInfo.legalName, currencies[1]); Message never repeats the value
// sent, which may be personal data.
type FieldError struct {
	Field      string           `json:"field"`
	Message    string           `json:"message"`
	Constraint *FieldConstraint `json:"constraint,omitempty"`
}

// FieldConstraint is Grid's machine-readable hint for a field.
type FieldConstraint struct {
	Format    string   `json:"format,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`
	Enum      []string `json:"enum,omitempty"`
	MinLength int      `json:"minLength,omitempty"`
	MaxLength int      `json:"maxLength,omitempty"`
}

// fieldErrors collects every invalid field of one request, so the platform
// learns all of them in one round trip, as Grid answers.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (f *fieldErrors) addc(field string, c *FieldConstraint, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...), Constraint: c})
}

// err is nil without errors, else an InvalidField for the first field whose
// details also carry every FieldError under "errors" (Grid's shape; "field"
// keeps the link route's convention).
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	e := InvalidField(f[0].Field, "%s", f[0].Message)
	if len(f) > 1 {
		names := make([]string, len(f))
		for i, fe := range f {
			names[i] = fe.Field
		}
		e.Message = fmt.Sprintf("%d fields are invalid: %s. %s", len(f), strings.Join(names, ", "), f[0].Message)
	}
	e.Details["errors"] = []FieldError(f)
	return e
}

// FieldErrors returns the FieldErrors an input error carries (nil for any
// other error).
func FieldErrors(err error) []FieldError {
	e := AsError(err)
	if e.Code != CodeInvalid {
		return nil
	}
	if fe, ok := e.Details["errors"].([]FieldError); ok {
		return fe
	}
	if f, ok := e.Details["field"].(string); ok {
		return []FieldError{{Field: f, Message: e.Message}}
	}
	return nil
}

// concurrentModification is Update's answer when other writers won every
// attempt.
func concurrentModification() *Error {
	e := Conflict(ReasonConcurrentModification, "The customer is being changed by other requests; try again.")
	e.RetryAfter = time.Second
	return e
}

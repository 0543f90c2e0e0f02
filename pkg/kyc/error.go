package kyc

import (
	"errors"
	"fmt"
	"time"
)

// Code is a Grid error code. The HTTP edge maps each one to a status.
type Code string

const (
	Invalid          Code = "INVALID_INPUT"
	Unauthorized     Code = "UNAUTHORIZED"
	NotFound         Code = "USER_NOT_FOUND"
	RouteNotFound    Code = "NOT_FOUND"
	MethodNotAllowed Code = "METHOD_NOT_ALLOWED"
	Conflict         Code = "CONFLICT"
	Unavailable      Code = "SERVICE_UNAVAILABLE"
	Internal         Code = "INTERNAL_ERROR"
)

// Error is an error the API reports to its caller. Message and Details are
// shown to the caller; Cause is for the logs only.
type Error struct {
	Code    Code
	Message string
	Details map[string]any
	// RetryAfter, when set, tells the caller when trying again makes sense.
	RetryAfter time.Duration
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField reports a bad input naming the field to fix.
func InvalidField(field, format string, args ...any) *Error {
	e := Errorf(Invalid, format, args...)
	e.Details = map[string]any{"field": field}
	return e
}

// AsError returns err as an *Error; anything that is not one is an internal
// error whose cause stays out of the message.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "An internal error occurred.", Cause: err}
}

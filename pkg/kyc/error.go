package kyc

import (
	"errors"
	"fmt"
	"time"
)

// Code is a Grid error code. The HTTP edge maps each one to a status; the
// domain never names a status itself.
type Code string

// The codes the domain produces. Routing codes (no such route, wrong
// method) belong to the HTTP edge and are defined there.
const (
	CodeInvalid      Code = "INVALID_INPUT"
	CodeUnauthorized Code = "UNAUTHORIZED"
	CodeNotFound     Code = "USER_NOT_FOUND"
	CodeConflict     Code = "CONFLICT"
	CodeUnavailable  Code = "SERVICE_UNAVAILABLE"
	CodeInternal     Code = "INTERNAL_ERROR"
)

// Error is an error the API reports to its caller. Message and Details are
// shown to the caller; Cause is for the logs only.
type Error struct {
	Code    Code
	Message string
	Details map[string]any
	// RetryAfter is the domain's estimate of when trying again can
	// succeed (a dependency's outage is expected to pass). It is a fact
	// about the failure, not about HTTP; the edge renders it as headers.
	RetryAfter time.Duration
	// Dependency names what failed behind a 5xx (the provider, the
	// store, the secrets), set where the error is made; "" is our own
	// code. The edge reports it, it never re-derives it.
	Dependency Dependency
	Cause      error
}

// Dependency is a service the domain relies on, as named in metrics.
type Dependency string

// The dependencies an outage or a misconfiguration can come from.
const (
	DepProvider Dependency = "PROVIDER"
	DepStore    Dependency = "STORE"
	DepSecrets  Dependency = "SECRETS"
	// DepKeys is the key service that seals customers' identifiers.
	DepKeys Dependency = "KEYS"
)

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
	e := Errorf(CodeInvalid, format, args...)
	e.Details = map[string]any{"field": field}
	return e
}

// internalMessage is all a caller learns of our own faults.
const internalMessage = "An internal error occurred."

// Internal reports our own fault (a bug or a misconfiguration): retrying
// will not help, and the cause goes to the log only.
func Internal(cause error) *Error {
	return &Error{Code: CodeInternal, Message: internalMessage, Cause: cause}
}

// Unavailable reports a dependency that is failing or too slow; the caller
// may retry after retryAfter.
func Unavailable(dep Dependency, message string, retryAfter time.Duration, cause error) *Error {
	return &Error{Code: CodeUnavailable, Message: message, RetryAfter: retryAfter, Dependency: dep, Cause: cause}
}

// Misconfigured reports a dependency that answers in a way retrying cannot
// fix (a missing table or secret, no permission): our configuration, so an
// internal error, with the dependency named for the logs and metrics.
func Misconfigured(dep Dependency, cause error) *Error {
	e := Internal(cause)
	e.Dependency = dep
	return e
}

// Outage is the answer for a dependency's failure: Misconfigured when
// permanent, else Unavailable with message and retryAfter.
func Outage(dep Dependency, permanent bool, message string, retryAfter time.Duration, cause error) *Error {
	if permanent {
		return Misconfigured(dep, cause)
	}
	return Unavailable(dep, message, retryAfter, cause)
}

// Conflict reports a request that clashes with the state of the service;
// reason is the machine-readable details.reason that tells conflicts apart.
func Conflict(reason, message string) *Error {
	return &Error{Code: CodeConflict, Message: message, Details: map[string]any{"reason": reason}}
}

// Reword returns err with message shown instead when it is an outage,
// so a caller can say what is unavailable in its own terms; the
// dependency and cause stay.
func Reword(err error, message string) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnavailable {
		return err
	}
	c := *e
	c.Message = message
	return &c
}

// AsError returns err as an *Error; anything that is not one is an internal
// error whose cause stays out of the message.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The platform API's paths (issue 18).
const (
	CustomersPath     = "/customers"
	CustomerPath      = "/customers/{customerId}"
	ConfigPath        = "/config"
	TestWebhookPath   = "/sandbox/webhooks/test"
	exampleCustomerID = "Customer:019542f5-b3e7-1d02-0000-000000000001"
)

// Contact verification's paths: Grid's send and confirm operations.
const (
	VerifyEmailPath        = "/customers/{customerId}/verify-email"
	VerifyEmailConfirmPath = "/customers/{customerId}/verify-email/confirm"
	VerifyPhonePath        = "/customers/{customerId}/verify-phone"
	VerifyPhoneConfirmPath = "/customers/{customerId}/verify-phone/confirm"
)

// Documents and verifications: Grid's direct-API verification routes,
// and the direct uploads this service adds (x-kyc-link-extension).
const (
	DocumentsPath              = "/documents"
	DocumentPath               = "/documents/{documentId}"
	VerificationsPath          = "/verifications"
	VerificationPath           = "/verifications/{verificationId}"
	DocumentUploadsPath        = "/document-uploads"
	DocumentUploadCompletePath = "/document-uploads/{uploadId}/complete"
)

// Beneficial owners: Grid's createBeneficialOwner, listBeneficialOwners,
// getBeneficialOwner and updateBeneficialOwner.
const (
	BeneficialOwnersPath = "/beneficial-owners"
	BeneficialOwnerPath  = "/beneficial-owners/{beneficialOwnerId}"
)

// exampleParams are the values given to the path parameters.
var exampleParams = map[string]string{
	"customerId":        exampleCustomerID,
	"documentId":        "Document:019542f5-b3e7-1d02-0000-000000000001",
	"verificationId":    "Verification:019542f5-b3e7-1d02-0000-000000000001",
	"uploadId":          "DocumentUpload:019542f5-b3e7-1d02-0000-000000000001",
	"beneficialOwnerId": "BeneficialOwner:019542f5-b3e7-1d02-0000-000000000001",
}

// CheckOperation validates a response (status, headers, body) against the
// operation method on the path template path (e.g. "GET",
// CustomerPath). Path parameters get example values. A response the
// contract declares without content (a 204) must have no body and no
// Content-Type.
func CheckOperation(method, path string, status int, header http.Header, body []byte) error {
	route, params, url, err := operation(method, path)
	if err != nil {
		return err
	}
	op := route.Operation
	req, _ := http.NewRequest(method, url, nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s response %d %s breaks the contract: %w", method, path, status, body, err)
	}
	// The validator checks no body where none is declared; the contract
	// means none.
	if r := op.Responses.Status(status); r != nil && r.Value != nil && len(r.Value.Content) == 0 &&
		(len(body) > 0 || header.Get("Content-Type") != "") {
		return fmt.Errorf("%s %s response %d %s breaks the contract: it declares no body, got %d bytes and Content-Type %q",
			method, path, status, body, len(body), header.Get("Content-Type"))
	}
	return nil
}

// operation finds the operation method on the path template path, with
// example values for its path parameters and the URL they make.
func operation(method, path string) (*routers.Route, map[string]string, string, error) {
	doc, err := load()
	if err != nil {
		return nil, nil, "", err
	}
	item := doc.Paths.Value(path)
	if item == nil {
		return nil, nil, "", fmt.Errorf("contract has no path %s", path)
	}
	op := item.GetOperation(method)
	if op == nil {
		return nil, nil, "", fmt.Errorf("contract has no %s %s", method, path)
	}
	params := map[string]string{}
	url := path
	for name, value := range exampleParams {
		if strings.Contains(url, "{"+name+"}") {
			params[name] = value
			url = strings.ReplaceAll(url, "{"+name+"}", value)
		}
	}
	route := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
	return route, params, "http://contract.invalid" + url, nil
}

// CheckRequestBody validates a request body sent with contentType against
// the request body the operation method on path declares (as a request:
// write-only fields allowed, read-only ones refused), so that a body a
// test or Grid's documentation sends is known to be one the contract
// describes.
func CheckRequestBody(method, path, contentType string, body []byte) error {
	route, params, url, err := operation(method, path)
	if err != nil {
		return err
	}
	rb := route.Operation.RequestBody
	if rb == nil || rb.Value == nil {
		return fmt.Errorf("contract has no request body for %s %s", method, path)
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{SkipSettingDefaults: true},
	}
	if err := openapi3filter.ValidateRequestBody(context.Background(), in, rb.Value); err != nil {
		return fmt.Errorf("%s %s request %s breaks the contract: %w", method, path, body, err)
	}
	return nil
}

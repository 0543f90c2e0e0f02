// Package contract checks responses against the route's OpenAPI description
// (api/openapi.yaml), so a response that drifts from the contract fails the
// test that produced it.
package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// RoutePath is the one path the contract describes.
const RoutePath = "/customers/{customerId}/kyc-link"

var load = sync.OnceValues(func() (*openapi3.T, error) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "api", "openapi.yaml")
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", path, err)
	}
	return doc, nil
})

// Doc returns the loaded, validated contract.
func Doc() (*openapi3.T, error) { return load() }

// CheckResponse validates a response (status, headers, body) against the
// route's operation. Every answer of the service, including 404 for an
// unknown path and 405, is declared there.
func CheckResponse(status int, header http.Header, body []byte) error {
	doc, err := load()
	if err != nil {
		return err
	}
	item := doc.Paths.Value(RoutePath)
	if item == nil || item.Post == nil {
		return fmt.Errorf("contract has no POST %s", RoutePath)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://contract.invalid/customers/x/kyc-link", nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: map[string]string{"customerId": "x"},
			Route:      &routers.Route{Spec: doc, Path: RoutePath, PathItem: item, Method: http.MethodPost, Operation: item.Post},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("response %d %s breaks the contract: %w", status, body, err)
	}
	return nil
}

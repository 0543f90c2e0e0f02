// Package contract checks responses against the route's OpenAPI description
// (api/openapi.yaml), so a response that drifts from the contract fails the
// test that produced it.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
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

// WebhookPath is the Sumsub webhook receiver's route.
const WebhookPath = "/webhooks/sumsub"

// CheckResponse validates a response (status, headers, body) against the
// route's operation. Every answer of the service, including 404 for an
// unknown path and 405, is declared there.
func CheckResponse(status int, header http.Header, body []byte) error {
	return check(RoutePath, "/customers/x/kyc-link", map[string]string{"customerId": "x"}, status, header, body)
}

// CheckWebhookResponse validates an answer of the Sumsub webhook receiver.
func CheckWebhookResponse(status int, header http.Header, body []byte) error {
	return check(WebhookPath, WebhookPath, nil, status, header, body)
}

// CheckGridWebhook validates a webhook body sent to a platform against the
// CustomerWebhook schema of the document's webhooks section.
func CheckGridWebhook(body []byte) error {
	doc, err := load()
	if err != nil {
		return err
	}
	hook := doc.Webhooks["customerVerification"]
	if hook == nil || hook.Post == nil || hook.Post.RequestBody == nil {
		return fmt.Errorf("contract has no webhooks.customerVerification")
	}
	schema := hook.Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("webhook body is not JSON: %w", err)
	}
	if err := schema.VisitJSON(v); err != nil {
		return fmt.Errorf("webhook %s breaks the contract: %w", body, err)
	}
	return nil
}

func check(path, url string, params map[string]string, status int, header http.Header, body []byte) error {
	doc, err := load()
	if err != nil {
		return err
	}
	item := doc.Paths.Value(path)
	if item == nil || item.Post == nil {
		return fmt.Errorf("contract has no POST %s", path)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://contract.invalid"+url, nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      &routers.Route{Spec: doc, Path: path, PathItem: item, Method: http.MethodPost, Operation: item.Post},
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

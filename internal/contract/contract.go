// Package contract checks responses against the route's OpenAPI description
// (api/openapi.yaml), so a response that drifts from the contract fails the
// test that produced it.
package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
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
	return CheckOperation(http.MethodPost, RoutePath, status, header, body)
}

// CheckWebhookResponse validates an answer of the Sumsub webhook receiver.
func CheckWebhookResponse(status int, header http.Header, body []byte) error {
	return CheckOperation(http.MethodPost, WebhookPath, status, header, body)
}

// CheckGridWebhook validates a webhook body sent to a platform against the
// CustomerWebhook schema of the document's webhooks section.
func CheckGridWebhook(body []byte) error { return checkWebhook("customerVerification", body) }

// CheckVerificationWebhook validates a VERIFICATION.* webhook body sent
// to a platform against the VerificationWebhook schema of the document's
// webhooks.verificationUpdate.
func CheckVerificationWebhook(body []byte) error { return checkWebhook("verificationUpdate", body) }

// CheckTestWebhook validates a TEST webhook body against the document's
// webhooks.testWebhook.
func CheckTestWebhook(body []byte) error { return checkWebhook("testWebhook", body) }

// checkWebhook validates body against the request body of the document's
// webhook name, as JSON Schema 2020 (so const and the like are checked).
func checkWebhook(name string, body []byte) error {
	doc, err := load()
	if err != nil {
		return err
	}
	hook := doc.Webhooks[name]
	if hook == nil || hook.Post == nil || hook.Post.RequestBody == nil {
		return fmt.Errorf("contract has no webhooks.%s", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("webhook body is not JSON: %w", err)
	}
	schema := hook.Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("webhook %s %s breaks the contract: %w", name, body, err)
	}
	return nil
}

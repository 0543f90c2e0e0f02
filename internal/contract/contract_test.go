package contract

import (
	"net/http"
	"testing"
)

func TestDocumentIsValid(t *testing.T) {
	if _, err := Doc(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckResponseCatchesDrift(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	good := []struct {
		status int
		header http.Header
		body   string
	}{
		{201, json, `{"kycUrl":"https://x","expiresAt":"2026-01-01T00:00:00Z","provider":"SUMSUB","token":"t"}`},
		{400, json, `{"status":400,"code":"INVALID_INPUT","message":"m","details":{"field":"body"}}`},
		{401, http.Header{"Content-Type": {"application/json"}, "Www-Authenticate": {`Basic realm="Grid"`}}, `{"status":401,"code":"UNAUTHORIZED","message":"m"}`},
	}
	for _, g := range good {
		if err := CheckResponse(g.status, g.header, []byte(g.body)); err != nil {
			t.Errorf("valid response refused: %v", err)
		}
	}
	bad := []struct {
		status int
		header http.Header
		body   string
	}{
		{201, json, `{"kycUrl":"https://x","expiresAt":"tomorrow","provider":"SUMSUB"}`},
		{201, json, `{"kycUrl":"https://x","expiresAt":"2026-01-01T00:00:00Z","provider":"ONFIDO"}`},
		{201, json, `{"url":"https://x"}`},
		{400, json, `{"status":400,"code":"OOPS","message":"m"}`},
		{400, json, `{"status":404,"code":"INVALID_INPUT","message":"m"}`},
		{500, json, `{"status":500,"code":"INTERNAL_ERROR","message":"m"}`},
		{401, json, `{"status":401,"code":"UNAUTHORIZED","message":"m"}`},
		{418, json, `{}`},
	}
	for _, b := range bad {
		if err := CheckResponse(b.status, b.header, []byte(b.body)); err == nil {
			t.Errorf("drifted response accepted: %d %v %s", b.status, b.header, b.body)
		}
	}
}

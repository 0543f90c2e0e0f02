package kyc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

func TestCheckCustomerID(t *testing.T) {
	const (
		tooLong = "The customer id is longer than 128 characters."
		badChar = "The customer id may contain only letters, digits, ':', '_' and '-'."
	)
	for _, tc := range []struct {
		id, want string // want: the message, "" for accepted
	}{
		{"Customer:019542f5-b3e7-1d02-0000-000000000001", ""},
		{"a", ""},
		{"AZaz09:_-", ""},
		{strings.Repeat("c", kyc.MaxCustomerID), ""},
		{"", "The customer id is empty."},
		{strings.Repeat("c", kyc.MaxCustomerID+1), tooLong},
		{strings.Repeat("c", 2048), tooLong},
		{strings.Repeat("c", 100_000), tooLong},
		{"user@example.com", badChar},
		{"Customer 1", badChar},
		{"Customer/1", badChar},
		{"Customer%3A1", badChar},
		{"Cüstomer", badChar},
		{"Customer\x00", badChar},
	} {
		err := kyc.CheckCustomerID(tc.id)
		if tc.want == "" {
			if err != nil {
				t.Errorf("CheckCustomerID(%.40q) = %v; want nil", tc.id, err)
			}
			continue
		}
		var e *kyc.Error
		if !errors.As(err, &e) {
			t.Errorf("CheckCustomerID(%.40q) = %v; want a *kyc.Error", tc.id, err)
			continue
		}
		got := map[string]any{"code": e.Code, "message": e.Message, "details": e.Details}
		want := map[string]any{"code": kyc.CodeInvalid, "message": tc.want, "details": map[string]any{"field": "customerId"}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("CheckCustomerID(%.40q) (-want +got):\n%s", tc.id, d)
		}
	}
}

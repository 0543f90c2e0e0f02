//go:build !lambda_link && !lambda_platform && !lambda_receiver && !lambda_relay && !lambda_delivery && !lambda_submit

package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// TestCheckEmailSenderSeesTheDefaultConfigurationSet: an identity with a
// default configuration set the role may not use fails the check with the
// fix (moto cannot set one; a stand-in SES answers GetEmailIdentity).
func TestCheckEmailSenderSeesTheDefaultConfigurationSet(t *testing.T) {
	for _, tc := range []struct {
		name, configured, want string
		ok                     bool
	}{
		{"not named", "", "deploy with ContactEmailConfigurationSet=tracking", false},
		{"named", "tracking", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.URL.Path == "/v2/email/identities/example.com":
					w.Write([]byte(`{"IdentityType":"DOMAIN","VerifiedForSendingStatus":true,"VerificationStatus":"SUCCESS","ConfigurationSetName":"tracking"}`))
				case strings.HasPrefix(r.URL.Path, "/v2/email/configuration-sets/tracking"):
					w.Write([]byte(`{"ConfigurationSetName":"tracking"}`))
				case r.URL.Path == "/v2/email/account":
					w.Write([]byte(`{"ProductionAccessEnabled":true}`))
				default:
					w.WriteHeader(http.StatusNotFound)
					w.Write([]byte(`{"message":"not found"}`))
				}
			}))
			defer srv.Close()
			client := sesv2.New(sesv2.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: aws.AnonymousCredentials{}})
			cfg := Config{ContactEmailFrom: "codes@example.com", ContactEmailIdentity: "example.com", ContactEmailConfigurationSet: tc.configured}
			detail, err := checkEmailSender(context.Background(), client, cfg)
			if tc.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkEmailSender = %q, %v; want ok %v, error with %q", detail, err, tc.ok, tc.want)
			}
		})
	}
}

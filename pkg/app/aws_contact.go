//go:build !lambda_link && !lambda_receiver && !lambda_relay && !lambda_delivery && !lambda_submit

package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/grid-kyc/kyc-link/pkg/awsstore/messaging"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// newContactSenders deliver contact codes: email through SES (none
// without CONTACT_EMAIL_FROM), SMS through SNS.
func newContactSenders(c aws.Config, cfg Config) (email, sms kyc.ContactSender) {
	if cfg.ContactEmailFrom != "" {
		email = &messaging.EmailSender{Client: sesv2.NewFromConfig(c), From: cfg.ContactEmailFrom, ConfigurationSet: cfg.ContactEmailConfigurationSet}
	}
	return email, &messaging.SMSSender{Client: sns.NewFromConfig(c), SenderID: cfg.ContactSMSSenderID}
}

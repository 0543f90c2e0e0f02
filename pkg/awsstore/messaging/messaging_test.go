package messaging_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/grid-kyc/kyc-link/pkg/awsstore/messaging"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

type fakeSES struct {
	in  *sesv2.SendEmailInput
	err error
}

func (f *fakeSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	f.in = in
	return &sesv2.SendEmailOutput{}, f.err
}

type fakeSNS struct {
	in  *sns.PublishInput
	err error
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.in = in
	return &sns.PublishOutput{}, f.err
}

var msg = kyc.ContactMessage{CustomerID: "Customer:1", Channel: kyc.ChannelEmail, To: "anna@example.de", Code: "482913",
	ExpiresAt: time.Now().Add(kyc.CodeLifetime)}

// TestEmailSenderSends: from the sender, to the customer, the code in
// the body only (subjects show on lock screens and travel in SES's event
// records), with the configuration set when one is named.
func TestEmailSenderSends(t *testing.T) {
	f := &fakeSES{}
	s := &messaging.EmailSender{Client: f, From: "codes@example.com", ConfigurationSet: "tracking"}
	if err := s.SendCode(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	c := f.in.Content.Simple
	switch {
	case aws.ToString(f.in.FromEmailAddress) != "codes@example.com" || len(f.in.Destination.ToAddresses) != 1 || f.in.Destination.ToAddresses[0] != "anna@example.de":
		t.Errorf("from %s to %v", aws.ToString(f.in.FromEmailAddress), f.in.Destination.ToAddresses)
	case strings.Contains(aws.ToString(c.Subject.Data), "482913"):
		t.Errorf("the subject carries the code: %q", aws.ToString(c.Subject.Data))
	case !strings.Contains(aws.ToString(c.Body.Text.Data), "482913") || !strings.Contains(aws.ToString(c.Body.Text.Data), "10 minutes"):
		t.Errorf("body %q", aws.ToString(c.Body.Text.Data))
	case aws.ToString(f.in.ConfigurationSetName) != "tracking":
		t.Errorf("configuration set %q", aws.ToString(f.in.ConfigurationSetName))
	}
}

func TestSMSSenderSends(t *testing.T) {
	f := &fakeSNS{}
	m := msg
	m.Channel, m.To = kyc.ChannelPhone, "+4915112345678"
	if err := (&messaging.SMSSender{Client: f, SenderID: "KYC"}).SendCode(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(f.in.PhoneNumber) != "+4915112345678" || !strings.Contains(aws.ToString(f.in.Message), "482913") || len(aws.ToString(f.in.Message)) > 160 ||
		aws.ToString(f.in.MessageAttributes["AWS.SNS.SMS.SMSType"].StringValue) != "Transactional" ||
		aws.ToString(f.in.MessageAttributes["AWS.SNS.SMS.SenderID"].StringValue) != "KYC" {
		t.Errorf("published %+v", f.in)
	}
}

func apiErr(code, message string) error {
	return &smithy.GenericAPIError{Code: code, Message: message}
}

// TestSendFaults: each SES and SNS failure is the answer it should be,
// and its cause carries the AWS error code, never the message (SES and
// SNS quote the address or number).
func TestSendFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		phone  bool
		err    error
		code   kyc.Code
		field  string
		reason string
	}{
		{"SES throttled", false, apiErr("TooManyRequestsException", "rate exceeded for anna@example.de"), kyc.CodeUnavailable, "", "TooManyRequestsException"},
		{"SES refuses the message", false, apiErr("MessageRejected", "Email address is not verified: anna@example.de"), kyc.CodeInternal, "", "MessageRejected"},
		{"SES sender unverified", false, apiErr("MailFromDomainNotVerifiedException", "x"), kyc.CodeInternal, "", "MailFromDomainNotVerifiedException"},
		{"SES access denied", false, apiErr("AccessDeniedException", "not authorized on identity/anna@example.de"), kyc.CodeInternal, "", "AccessDeniedException"},
		{"SES refuses the address", false, apiErr("BadRequestException", "Illegal address anna@example.de"), kyc.CodeInvalid, "email", "BadRequestException"},
		{"SES times out", false, context.DeadlineExceeded, kyc.CodeUnavailable, "", "deadline exceeded"},
		{"SNS throttled", true, apiErr("Throttled", "x"), kyc.CodeUnavailable, "", "Throttled"},
		{"SNS refuses the number", true, apiErr("InvalidParameter", "Invalid parameter: PhoneNumber Reason: +4915112345678 is not valid"), kyc.CodeInvalid, "phoneNumber", "InvalidParameter"},
		{"SNS refuses our sender id", true, apiErr("InvalidParameter", "Invalid parameter: MessageAttributes"), kyc.CodeInternal, "", "InvalidParameter"},
		{"SNS denies us", true, apiErr("AuthorizationError", "x"), kyc.CodeInternal, "", "AuthorizationError"},
		{"SNS internal error", true, apiErr("InternalError", "x"), kyc.CodeUnavailable, "", "InternalError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.phone {
				m := msg
				m.Channel, m.To = kyc.ChannelPhone, "+4915112345678"
				err = (&messaging.SMSSender{Client: &fakeSNS{err: tc.err}}).SendCode(context.Background(), m)
			} else {
				err = (&messaging.EmailSender{Client: &fakeSES{err: tc.err}, From: "codes@example.com"}).SendCode(context.Background(), msg)
			}
			var e *kyc.Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Fatalf("SendCode = %v; want %s", err, tc.code)
			}
			if f, _ := e.Details["field"].(string); f != tc.field {
				t.Errorf("field %q; want %q", f, tc.field)
			}
			if tc.code != kyc.CodeInvalid && e.Dependency == "" {
				t.Error("no dependency named")
			}
			all := err.Error()
			if !strings.Contains(all, tc.reason) || strings.Contains(all, "anna@example.de") || strings.Contains(all, "4915112345678") {
				t.Errorf("error %q: want the code %s and no address or number", all, tc.reason)
			}
		})
	}
}

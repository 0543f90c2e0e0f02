// Package messaging delivers contact verification codes through AWS: email
// with SES, SMS with SNS. Only the platform function links it (its own
// package, so no other function's build imports SES or SNS:
// pkg/app/clients.go).
package messaging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// SESAPI is the call the email sender makes.
type SESAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// EmailSender sends contact verification codes by email with Amazon SES
// (v2 SendEmail), from From, with ConfigurationSet when set.
type EmailSender struct {
	Client           SESAPI
	From             string
	ConfigurationSet string
}

var _ kyc.ContactSender = (*EmailSender)(nil)

func (e *EmailSender) SendCode(ctx context.Context, m kyc.ContactMessage) error {
	text := func(s string) *sestypes.Content {
		return &sestypes.Content{Data: aws.String(s), Charset: aws.String("UTF-8")}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(e.From),
		Destination:      &sestypes.Destination{ToAddresses: []string{m.To}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			// The code only in the body: subjects show on lock screens
			// and travel in SES's event records (configuration sets).
			Subject: text("Your verification code"),
			Body:    &sestypes.Body{Text: text(message(m))},
		}},
	}
	if e.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(e.ConfigurationSet)
	}
	_, err := e.Client.SendEmail(ctx, in)
	return sendFault(kyc.DepEmail, "ses SendEmail", err, map[string]string{
		// SES refused the message's address or content: the address is
		// the only part the platform gave.
		"BadRequestException": "email",
	}, map[string]bool{
		"MessageRejected": true, "MailFromDomainNotVerifiedException": true, "AccountSuspendedException": true,
		"SendingPausedException": true, "NotFoundException": true,
	})
}

// SNSAPI is the call the SMS sender makes.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SMSSender sends contact verification codes by SMS with Amazon SNS
// (Publish to the phone number, Transactional), with SenderID where set.
type SMSSender struct {
	Client   SNSAPI
	SenderID string
}

var _ kyc.ContactSender = (*SMSSender)(nil)

func (s *SMSSender) SendCode(ctx context.Context, m kyc.ContactMessage) error {
	attrs := map[string]snstypes.MessageAttributeValue{
		"AWS.SNS.SMS.SMSType": {DataType: aws.String("String"), StringValue: aws.String("Transactional")},
	}
	if s.SenderID != "" {
		attrs["AWS.SNS.SMS.SenderID"] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(s.SenderID)}
	}
	_, err := s.Client.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String(m.To), Message: aws.String(message(m)), MessageAttributes: attrs})
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "InvalidParameter" || api.ErrorCode() == "InvalidParameterValue") &&
		!strings.Contains(api.ErrorMessage(), "PhoneNumber") {
		// Not the number (a sender id or attribute of ours): read here,
		// never logged, as the message may quote the number.
		return kyc.Misconfigured(kyc.DepSMS, fmt.Errorf("sns Publish: %s (not about the phone number)", api.ErrorCode()))
	}
	return sendFault(kyc.DepSMS, "sns Publish", err, map[string]string{
		"InvalidParameter": "phoneNumber", "InvalidParameterValue": "phoneNumber",
	}, map[string]bool{
		"AuthorizationError": true, "EndpointDisabled": true, "KMSAccessDenied": true, "KMSDisabled": true,
		"KMSNotFound": true, "KMSInvalidState": true,
	})
}

// message is the code's text: short enough for one SMS.
func message(m kyc.ContactMessage) string {
	return fmt.Sprintf("Your verification code is %s. It expires in %d minutes. Do not share it.",
		m.Code, int(kyc.CodeLifetime/time.Minute))
}

// sendFault is the answer for a failed send. Its cause carries only the
// AWS error code, never the message: SES and SNS quote the address.
// Codes in refused are the address itself refused (400 naming that
// field); in permanent, our configuration (500); anything else Permanent
// says is ours, the rest an outage (503).
func sendFault(dep kyc.Dependency, op string, err error, refused map[string]string, permanent map[string]bool) error {
	if err == nil {
		return nil
	}
	code := "error"
	var api smithy.APIError
	switch {
	case errors.As(err, &api):
		code = api.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		code = "deadline exceeded"
	case errors.Is(err, context.Canceled):
		code = "canceled"
	case errors.Is(err, awsstore.ErrNoCredentials):
		code = "no credentials"
	}
	cause := fmt.Errorf("%s: %s", op, code)
	if field, ok := refused[code]; ok {
		e := kyc.InvalidField(field, "The %s service refused the customer's %s; check it and set it again with PATCH /customers/{customerId}.",
			strings.ToLower(string(dep)), field)
		e.Cause = cause
		return e
	}
	return kyc.Outage(dep, permanent[code] || awsstore.Permanent(err), "The code could not be sent.", time.Second, cause)
}

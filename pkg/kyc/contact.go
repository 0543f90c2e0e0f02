package kyc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Channel is a contact verification channel: the customer's email or
// phone number.
type Channel string

const (
	ChannelEmail Channel = "email"
	ChannelPhone Channel = "phone"
)

// Field is the customer field a channel verifies (details.field of a 400
// about it).
func (c Channel) Field() string {
	if c == ChannelPhone {
		return "phoneNumber"
	}
	return "email"
}

// valueOf is the contact value of c the customer has now.
func (c Channel) valueOf(r Customer) string {
	if c == ChannelPhone {
		return r.PhoneNumber
	}
	return r.Email
}

// stateOf is c's state in v ("" not required).
func (c Channel) stateOf(v ContactVerification) string {
	if c == ChannelPhone {
		return v.Phone
	}
	return v.Email
}

// setState sets c's state in v.
func (c Channel) setState(v *ContactVerification, state string) {
	if c == ChannelPhone {
		v.Phone = state
	} else {
		v.Email = state
	}
}

// EEARegions are the jurisdictions whose customers verify their contact
// details by default: the EU-27, Iceland, Liechtenstein and Norway.
func EEARegions() []string {
	return []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
		"LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO"}
}

// ContactRules say which customers must verify which channels before
// identity verification: a customer created with a region in Regions has
// each of Channels PENDING. The requirement is set once, at creation
// (region cannot change); customers created before keep what they have.
type ContactRules struct {
	Regions  []string
	Channels []Channel
}

// ParseContactRules reads the rules' settings: regions as ISO 3166-1
// alpha-2 codes separated by commas ("none": no region), channels as
// "email", "phone" or both ("none": no channel).
func ParseContactRules(regions, channels string) (ContactRules, error) {
	var r ContactRules
	var errs []error
	if strings.TrimSpace(regions) != "none" {
		for f := range strings.SplitSeq(regions, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if !IsCountry(f) {
				errs = append(errs, fmt.Errorf("region %q: want an ISO 3166-1 alpha-2 country code in capitals, such as DE (GR for Greece, GB for the United Kingdom)", f))
				continue
			}
			r.Regions = append(r.Regions, f)
		}
	}
	if strings.TrimSpace(channels) != "none" {
		for f := range strings.SplitSeq(channels, ",") {
			switch ch := Channel(strings.TrimSpace(f)); ch {
			case "":
			case ChannelEmail, ChannelPhone:
				if !slices.Contains(r.Channels, ch) {
					r.Channels = append(r.Channels, ch)
				}
			default:
				errs = append(errs, fmt.Errorf("channel %q: want email or phone", ch))
			}
		}
	}
	return r, errors.Join(errs...)
}

// Required is what a customer created in region must verify.
func (r ContactRules) Required(region string) ContactVerification {
	var v ContactVerification
	if !slices.Contains(r.Regions, region) {
		return v
	}
	for _, ch := range r.Channels {
		ch.setState(&v, ContactPending)
	}
	return v
}

// ContactCode is the record of a customer's channel: the live code (as
// MACs only) and the sends that throttle the next one.
type ContactCode struct {
	CustomerID string
	Channel    Channel
	// CodeMAC is the code's HMAC, bound to the customer, the channel and
	// the contact value it was sent to.
	CodeMAC []byte
	// Delivered: the email or SMS service took the code. Only a delivered
	// code confirms, so a send that failed (or whose outcome is unknown)
	// leaves nothing usable without a second write.
	Delivered bool
	// ContactMAC is the HMAC of the contact value the code was sent to.
	ContactMAC []byte
	// ExpiresAt ends the code; Attempts counts the wrong guesses at it;
	// Used is set by the guess that confirmed it.
	ExpiresAt time.Time
	Attempts  int
	Used      bool
	// SentAt is the last send; Sends counts the sends since WindowStart.
	SentAt      time.Time
	WindowStart time.Time
	Sends       int
}

// ContactCodes keeps one ContactCode per customer and channel. Stores keep
// times to the millisecond.
type ContactCodes interface {
	// ContactCode reads the record of customerID's channel with a
	// consistent read (found false: none).
	ContactCode(ctx context.Context, customerID string, ch Channel) (c ContactCode, found bool, err error)
	// PutContactCode replaces the record with c, only if the stored one
	// still has prevSentAt (zero: no record, or one without a send): else
	// ErrChanged. Of two sends that read one record, one writes.
	PutContactCode(ctx context.Context, prevSentAt time.Time, c ContactCode) error
	// CountWrongCode counts a wrong guess against the code codeMAC,
	// atomically and only while it has fewer than max wrong guesses:
	// counted false when it had max already or is no longer the code.
	CountWrongCode(ctx context.Context, customerID string, ch Channel, codeMAC []byte, max int) (counted bool, err error)
	// UseContactCode marks the code codeMAC used, atomically and only
	// while it is delivered, unused and has fewer than max wrong guesses:
	// used false otherwise.
	UseContactCode(ctx context.Context, customerID string, ch Channel, codeMAC []byte, max int) (used bool, err error)
	// UnuseContactCode undoes UseContactCode (the customer's write
	// failed), if codeMAC is still the code.
	UnuseContactCode(ctx context.Context, customerID string, ch Channel, codeMAC []byte) error
	// MarkCodeDelivered makes the code codeMAC confirmable (its email or
	// SMS was accepted), if it is still the code.
	MarkCodeDelivered(ctx context.Context, customerID string, ch Channel, codeMAC []byte) error
}

// ContactMessage is a code on its way to a customer. To and Code are
// personal data and a secret: they go to the sender only, never to a log.
type ContactMessage struct {
	CustomerID string
	Channel    Channel
	To         string
	Code       string
	ExpiresAt  time.Time
}

// ContactSender delivers codes on one channel. A failure is an *Error:
// Unavailable for an outage, Internal (Misconfigured) for our
// configuration, InvalidField naming the contact field when the
// channel's service refuses the address itself.
type ContactSender interface {
	SendCode(ctx context.Context, m ContactMessage) error
}

// SenderFunc adapts a function to ContactSender.
type SenderFunc func(ctx context.Context, m ContactMessage) error

func (f SenderFunc) SendCode(ctx context.Context, m ContactMessage) error { return f(ctx, m) }

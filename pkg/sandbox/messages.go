package sandbox

import (
	"context"
	"slices"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Message is one contact verification code the service sent, or would
// have sent: make run has no email or SMS service, so the inbox page is
// where a tester reads the code.
type Message struct {
	CustomerID string
	Channel    kyc.Channel
	To, Code   string
	At         time.Time // when the send returned, UTC
	ExpiresAt  time.Time // when the code stops confirming
	Err        string    // why delivery failed; "" when it did not
}

// Messages returns the codes sent, oldest first.
func (in *Inbox) Messages() []Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.messages)
}

// Sender wraps next, the channel's delivery, so that the inbox lists each
// code sent: the message is recorded whether or not next succeeds (Err
// says why it failed), and next's error is returned unchanged. With next
// nil nothing is delivered and every send succeeds: the page is then the
// only place the code shows.
func (in *Inbox) Sender(next kyc.ContactSender) kyc.ContactSender {
	return kyc.SenderFunc(func(ctx context.Context, m kyc.ContactMessage) error {
		var err error
		if next != nil {
			err = next.SendCode(ctx, m)
		}
		msg := Message{CustomerID: m.CustomerID, Channel: m.Channel, To: m.To, Code: m.Code,
			At: in.now(), ExpiresAt: m.ExpiresAt.UTC()}
		if err != nil {
			msg.Err = err.Error()
		}
		in.mu.Lock()
		in.messages = append(in.messages, msg)
		if len(in.messages) > MaxEntries {
			in.messages = slices.Delete(in.messages, 0, len(in.messages)-MaxEntries)
		}
		in.version++
		in.mu.Unlock()
		return err
	})
}

// messageView is a message as the inbox page lists it.
type messageView struct {
	Message
	When, Expires string
}

func newMessageView(m Message) messageView {
	v := messageView{Message: m, When: stamp(m.At)}
	if !m.ExpiresAt.IsZero() {
		v.Expires = stamp(m.ExpiresAt)
	}
	return v
}

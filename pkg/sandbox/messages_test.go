package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

var (
	sentAt    = time.Date(2026, 11, 26, 9, 0, 0, 123_000_000, time.UTC)
	expiresAt = sentAt.Add(10 * time.Minute)
)

// page serves in's page (GET or HEAD) and answers it.
func page(t *testing.T, in *sandbox.Inbox, method string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	in.Page(w, httptest.NewRequest(method, "http://localhost:8080"+sandbox.InboxPrefix, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("%s page = %d", method, w.Code)
	}
	return w
}

func TestSenderRecordsEachMessage(t *testing.T) {
	refused := kyc.Unavailable(kyc.DepSMS, "The SMS could not be sent.", time.Minute, errors.New("SNS: throttled"))
	email := kyc.ContactMessage{CustomerID: "Customer:1", Channel: kyc.ChannelEmail, To: "ada@example.com", Code: "123456", ExpiresAt: expiresAt}
	phone := kyc.ContactMessage{CustomerID: "Customer:2", Channel: kyc.ChannelPhone, To: "+4915112345678", Code: "654321", ExpiresAt: expiresAt}
	for _, tc := range []struct {
		name    string
		next    func(*[]kyc.ContactMessage) kyc.ContactSender // nil: no delivery
		m       kyc.ContactMessage
		wantErr error
		want    sandbox.Message
	}{
		{name: "no delivery", m: email,
			want: sandbox.Message{CustomerID: "Customer:1", Channel: kyc.ChannelEmail, To: "ada@example.com", Code: "123456", At: sentAt, ExpiresAt: expiresAt}},
		{name: "delivered", m: phone,
			next: func(got *[]kyc.ContactMessage) kyc.ContactSender {
				return kyc.SenderFunc(func(_ context.Context, m kyc.ContactMessage) error { *got = append(*got, m); return nil })
			},
			want: sandbox.Message{CustomerID: "Customer:2", Channel: kyc.ChannelPhone, To: "+4915112345678", Code: "654321", At: sentAt, ExpiresAt: expiresAt}},
		{name: "delivery failed", m: phone,
			next: func(got *[]kyc.ContactMessage) kyc.ContactSender {
				return kyc.SenderFunc(func(_ context.Context, m kyc.ContactMessage) error { *got = append(*got, m); return refused })
			},
			wantErr: refused,
			want: sandbox.Message{CustomerID: "Customer:2", Channel: kyc.ChannelPhone, To: "+4915112345678", Code: "654321", At: sentAt, ExpiresAt: expiresAt,
				Err: refused.Error()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &sandbox.Inbox{Now: func() time.Time { return sentAt }}
			var delivered []kyc.ContactMessage
			var next kyc.ContactSender
			if tc.next != nil {
				next = tc.next(&delivered)
			}
			before := page(t, in, http.MethodHead).Header().Get("X-Inbox-Version")
			err := in.Sender(next).SendCode(context.Background(), tc.m)
			if err != tc.wantErr { // unchanged: the very error next returned
				t.Fatalf("SendCode = %v; want %v", err, tc.wantErr)
			}
			if tc.next != nil && !reflect.DeepEqual(delivered, []kyc.ContactMessage{tc.m}) {
				t.Errorf("next got %+v; want %+v once", delivered, tc.m)
			}
			if got := in.Messages(); !reflect.DeepEqual(got, []sandbox.Message{tc.want}) {
				t.Errorf("Messages() = %+v; want %+v", got, []sandbox.Message{tc.want})
			}
			if after := page(t, in, http.MethodHead).Header().Get("X-Inbox-Version"); after == before {
				t.Errorf("X-Inbox-Version stayed %q: the page would not reload for the message", after)
			}
		})
	}
}

func TestMessagesIsACopy(t *testing.T) {
	in := &sandbox.Inbox{}
	in.Sender(nil).SendCode(context.Background(), kyc.ContactMessage{CustomerID: "Customer:1", Channel: kyc.ChannelEmail, To: "a@example.com", Code: "123456"})
	got := in.Messages()
	got[0].Code = "000000"
	if c := in.Messages()[0].Code; c != "123456" {
		t.Fatalf("changing Messages()'s result changed the inbox: code %q", c)
	}
}

func TestInboxKeepsTheNewestMessages(t *testing.T) {
	in := &sandbox.Inbox{}
	send := in.Sender(nil)
	for i := range sandbox.MaxEntries + 1 {
		send.SendCode(context.Background(), kyc.ContactMessage{CustomerID: "Customer:" + strconv.Itoa(i), Channel: kyc.ChannelEmail, To: "a@example.com", Code: "123456"})
	}
	ms := in.Messages()
	if len(ms) != sandbox.MaxEntries || ms[0].CustomerID != "Customer:1" || ms[len(ms)-1].CustomerID != "Customer:"+strconv.Itoa(sandbox.MaxEntries) {
		t.Fatalf("%d messages, %s to %s; want %d, Customer:1 to Customer:%d (oldest first, the first dropped)",
			len(ms), ms[0].CustomerID, ms[len(ms)-1].CustomerID, sandbox.MaxEntries, sandbox.MaxEntries)
	}
}

var messageRow = regexp.MustCompile(`(?s)<tr class="message" data-customer="([^"]*)" data-channel="([^"]*)">(.*?)</tr>`)

func TestInboxPageShowsMessages(t *testing.T) {
	now := sentAt
	in := &sandbox.Inbox{Now: func() time.Time { now = now.Add(time.Second); return now }}

	empty := page(t, in, http.MethodGet).Body.String()
	if !strings.Contains(empty, "Messages (contact verification codes)") || !strings.Contains(empty, "No codes sent yet.") || messageRow.MatchString(empty) {
		t.Fatalf("the empty inbox's messages section:\n%s", empty)
	}

	hostile := `"<script>alert(1)</script>"@example.com`
	in.Sender(nil).SendCode(context.Background(), kyc.ContactMessage{CustomerID: "Customer:1", Channel: kyc.ChannelEmail, To: hostile, Code: "123456", ExpiresAt: expiresAt})
	failing := in.Sender(kyc.SenderFunc(func(context.Context, kyc.ContactMessage) error {
		return errors.New("SNS refused <b>the number</b>")
	}))
	failing.SendCode(context.Background(), kyc.ContactMessage{CustomerID: "Customer:2", Channel: kyc.ChannelPhone, To: "+4915112345678", Code: "123456", ExpiresAt: expiresAt})

	body := page(t, in, http.MethodGet).Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>the number</b>") {
		t.Fatalf("the page shows a message's text unescaped:\n%s", body)
	}
	if strings.Contains(body, "No codes sent yet.") || strings.Contains(body, "Nothing yet") {
		t.Errorf("the page says nothing arrived, with two messages:\n%s", body)
	}
	rows := messageRow.FindAllStringSubmatch(body, -1)
	if len(rows) != 2 {
		t.Fatalf("%d message rows; want 2:\n%s", len(rows), body)
	}
	for i, want := range []struct {
		customer, channel string
		cells             []string
		absent            string
	}{
		// Newest first.
		{"Customer:2", "phone", []string{`<code class="code"><b>123456</b></code>`, `<span class="channel">phone</span> <span class="to">+4915112345678</span>`,
			"customer Customer:2", pageTime(sentAt.Add(2 * time.Second)), "expires " + pageTime(expiresAt),
			`<span class="bad">delivery failed: SNS refused <b>the number</b></span>`}, ""},
		{"Customer:1", "email", []string{`<code class="code"><b>123456</b></code>`, `<span class="channel">email</span> <span class="to">` + hostile + `</span>`,
			"customer Customer:1", pageTime(sentAt.Add(time.Second)), "expires " + pageTime(expiresAt)}, "failed"},
	} {
		r := rows[i]
		if r[1] != want.customer || r[2] != want.channel {
			t.Errorf("row %d is %s %s; want %s %s", i, r[1], r[2], want.customer, want.channel)
		}
		text := html.UnescapeString(r[3])
		for _, cell := range want.cells {
			if !strings.Contains(text, cell) {
				t.Errorf("row %d (%s) lacks %q:\n%s", i, want.customer, cell, r[3])
			}
		}
		if want.absent != "" && strings.Contains(text, want.absent) {
			t.Errorf("row %d (%s) says %q:\n%s", i, want.customer, want.absent, r[3])
		}
	}
	if !strings.Contains(rows[1][3], "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the address is not HTML-escaped:\n%s", rows[1][3])
	}
}

func pageTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") + " UTC" }

// TestInboxMessagesUnderLoad sends from several goroutines while the page
// is served (run with -race).
func TestInboxMessagesUnderLoad(t *testing.T) {
	in := &sandbox.Inbox{}
	srv := httptest.NewServer(http.HandlerFunc(in.Page))
	defer srv.Close()
	const senders, each = 8, 25
	var wg sync.WaitGroup
	for g := range senders {
		send := in.Sender(nil)
		wg.Go(func() {
			for i := range each {
				m := kyc.ContactMessage{CustomerID: fmt.Sprintf("Customer:%d-%d", g, i), Channel: kyc.ChannelPhone, To: "+4915112345678", Code: "123456"}
				if err := send.SendCode(context.Background(), m); err != nil {
					t.Errorf("SendCode: %v", err)
				}
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				resp, err := http.Get(srv.URL + sandbox.InboxPrefix)
				if err != nil {
					t.Errorf("GET page: %v", err)
					return
				}
				resp.Body.Close()
				in.Messages()
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if n := len(in.Messages()); n != senders*each {
		t.Fatalf("%d messages; want %d", n, senders*each)
	}
	if _, body := get(t, srv.URL+sandbox.InboxPrefix); len(messageRow.FindAllString(body, -1)) != senders*each {
		t.Fatalf("the page lists %d messages; want %d", len(messageRow.FindAllString(body, -1)), senders*each)
	}
}

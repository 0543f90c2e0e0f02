package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// Decisions a tester can pick on the sandbox page.
const (
	Approve = "approve"
	Reject  = "reject"
	Hold    = "hold"
)

// Decider plays Sumsub's part after the applicant submits: it sends
// applicantPending and then the decision as Sumsub-format webhooks, signed
// with the webhook secret exactly as Sumsub signs them, to the receiver.
type Decider struct {
	URL    string // the receiver, e.g. http://127.0.0.1:3000/webhooks/sumsub
	Secret func(ctx context.Context) (string, error)
	Client *http.Client
	Now    func() time.Time
}

// Decide sends the events for decision about customerID.
func (d *Decider) Decide(ctx context.Context, customerID, decision string) error {
	now := d.Now().UTC()
	final := map[string]any{"type": sumsub.TypeReviewed, "reviewStatus": "completed"}
	switch decision {
	case Approve:
		final["reviewResult"] = map[string]any{"reviewAnswer": "GREEN"}
	case Reject:
		final["reviewResult"] = map[string]any{"reviewAnswer": "RED", "reviewRejectType": "RETRY", "rejectLabels": []string{"UNSATISFACTORY_PHOTOS"}}
	case RejectFinal:
		final["reviewResult"] = map[string]any{"reviewAnswer": "RED", "reviewRejectType": "FINAL", "rejectLabels": []string{"REGULATIONS_VIOLATIONS"}}
	case Hold:
		final = map[string]any{"type": sumsub.TypeOnHold, "reviewStatus": "onHold"}
	default:
		return fmt.Errorf("sandbox: unknown decision %q", decision)
	}
	pending := map[string]any{"type": sumsub.TypePending, "reviewStatus": "pending"}
	for i, ev := range []map[string]any{pending, final} {
		ev["externalUserId"] = customerID
		ev["applicantId"] = "sandbox-" + customerID
		ev["sandboxMode"] = true
		ev["createdAtMs"] = sumsub.FormatCreatedAt(now.Add(time.Duration(i) * time.Millisecond))
		if err := d.send(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decider) send(ctx context.Context, ev map[string]any) error {
	body, _ := json.Marshal(ev)
	secret, err := d.Secret(ctx)
	if err != nil {
		return err
	}
	digest, err := sumsub.WebhookDigest(secret, sumsub.DigestSHA256, body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Payload-Digest", digest)
	req.Header.Set("X-Payload-Digest-Alg", sumsub.DigestSHA256)
	resp, err := d.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sandbox: the receiver answered %d", resp.StatusCode)
	}
	return nil
}

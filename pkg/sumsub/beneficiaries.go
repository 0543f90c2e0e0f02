package sumsub

// A company's beneficiaries (KYB 2.0, docs.sumsub.com "Link beneficiary
// to company"): each person who owns or controls the company is an
// individual applicant of its own, linked to the company applicant with
// POST /resources/applicants/{companyId}/fixedInfo/companyInfo/beneficiaries
// {applicantId, types, shareSize}. The link only places the person in the
// company's ownership and control structure; Sumsub reviews each applicant
// on its own (its beneficiary pages: the two "are independent", a
// beneficiary's status does not move the company's, nor the other way
// round). A link is removed ("Unlink beneficiary from company") with
// DELETE .../fixedInfo/companyInfo/beneficiaries/{beneficiaryId}, the
// link's own id: that is how a link whose types or share no longer match
// the owner's roles is changed (unlinked, then linked anew).
//
// What we assumed where the documentation is thin:
//   - The types are ubo, shareholder, representative and director. A type
//     Sumsub does not take is its 400: our misconfiguration (Classify).
//   - Sumsub does not say that a second link of the same applicant is
//     refused, so a link is never sent blindly twice: the company
//     applicant's fixedInfo.companyInfo.beneficiaries (GET .../one), each
//     with its own id, its applicantId, types and shareSize, says who is
//     linked already, and how. A 409 answer to a link is read as "linked
//     already" only once that list shows it.
//   - The link answers the beneficiary it stored; nothing of the answer is
//     needed. The unlink answers {"ok":1}, and a 404 for a link it does not
//     know ("Company beneficiary not found"): the link is gone, which is
//     what a repeat after a lost answer finds.
//   - A link with no shareSize and one with shareSize 0 say the same: no
//     share to declare.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// Sumsub's beneficiary types (KYB 2.0 "types").
const (
	BeneficiaryUBO            = "ubo"
	BeneficiaryShareholder    = "shareholder"
	BeneficiaryRepresentative = "representative"
	BeneficiaryDirector       = "director"
)

// Beneficiary is one person (an applicant of its own) in a company
// applicant's ownership and control structure.
type Beneficiary struct {
	// ID is the link's own id, as Beneficiaries reads it (the id
	// UnlinkBeneficiary takes); LinkBeneficiary does not use it.
	ID          string
	ApplicantID string
	// Types are Sumsub's beneficiary types (BeneficiaryUBO, ...): at least
	// one.
	Types []string
	// ShareSize is the percentage of the company the beneficiary owns;
	// nil leaves it out.
	ShareSize *float64
}

func beneficiaryPath(companyID string) string {
	return applicantPath(companyID, "/fixedInfo/companyInfo/beneficiaries")
}

// Beneficiaries reads the beneficiaries linked to the company applicant
// (each link's id, its applicant id, types and share).
func (c *Client) Beneficiaries(ctx context.Context, creds Credentials, companyID string) ([]Beneficiary, error) {
	if companyID == "" {
		return nil, fmt.Errorf("%w: the company applicant id is required", ErrInvalidRequest)
	}
	return beneficiaries(func(out any) error {
		return c.call(ctx, creds, http.MethodGet, applicantPath(companyID, "/one"), nil, out)
	})
}

// beneficiaries decodes the company applicant read by get.
func beneficiaries(get func(out any) error) ([]Beneficiary, error) {
	var applicant struct {
		FixedInfo struct {
			CompanyInfo struct {
				Beneficiaries []struct {
					ID          string   `json:"id"`
					ApplicantID string   `json:"applicantId"`
					Types       []string `json:"types"`
					ShareSize   *float64 `json:"shareSize"`
				} `json:"beneficiaries"`
			} `json:"companyInfo"`
		} `json:"fixedInfo"`
	}
	if err := get(&applicant); err != nil {
		return nil, scrub(err)
	}
	var out []Beneficiary
	for _, b := range applicant.FixedInfo.CompanyInfo.Beneficiaries {
		out = append(out, Beneficiary{ID: b.ID, ApplicantID: b.ApplicantID, Types: b.Types, ShareSize: b.ShareSize})
	}
	return out, nil
}

// linked reports whether applicantID is among the company's
// beneficiaries; once says whether to read under the retry policy.
func (c *Client) linked(ctx context.Context, creds Credentials, companyID, applicantID string, once bool) (bool, error) {
	get := func(out any) error {
		if once {
			return c.once(ctx, creds, http.MethodGet, applicantPath(companyID, "/one"), nil, out)
		}
		return c.call(ctx, creds, http.MethodGet, applicantPath(companyID, "/one"), nil, out)
	}
	bs, err := beneficiaries(get)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(bs, func(b Beneficiary) bool { return b.ApplicantID == applicantID }), nil
}

// LinkBeneficiary links applicant b.ApplicantID to the company applicant
// companyID. Retrying after an answer lost in an outage first reads the
// company's beneficiaries, so the link is not sent again when the first
// attempt made it. The caller reads Beneficiaries first to skip applicants
// linked as wanted by an earlier run, and unlinks (UnlinkBeneficiary) one
// linked otherwise before linking it again.
func (c *Client) LinkBeneficiary(ctx context.Context, creds Credentials, companyID string, b Beneficiary) error {
	if companyID == "" || b.ApplicantID == "" || len(b.Types) == 0 {
		return fmt.Errorf("%w: the company applicant id, the beneficiary's applicant id and its types are required", ErrInvalidRequest)
	}
	body, err := json.Marshal(struct {
		ApplicantID string   `json:"applicantId"`
		Types       []string `json:"types"`
		ShareSize   *float64 `json:"shareSize,omitempty"`
	}{b.ApplicantID, b.Types, b.ShareSize})
	if err != nil {
		return fmt.Errorf("sumsub: encode request: %w", err)
	}
	err = retry(ctx, func(attempt int) error {
		if attempt > 1 {
			// The attempt before may have linked it, its answer lost.
			done, err := c.linked(ctx, creds, companyID, b.ApplicantID, true)
			if err != nil || done {
				return err
			}
		}
		return c.once(ctx, creds, http.MethodPost, beneficiaryPath(companyID), body, nil)
	})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict {
		if done, lerr := c.linked(ctx, creds, companyID, b.ApplicantID, false); lerr == nil && done {
			return nil
		}
	}
	return scrub(err)
}

// UnlinkBeneficiary removes the link beneficiaryID (a Beneficiary's ID,
// not its applicant id) from the company applicant companyID. It is safe
// to repeat: Sumsub's 404 for a link it does not know means the link is
// gone, removed by this call's earlier attempt (its answer lost) or an
// earlier run.
func (c *Client) UnlinkBeneficiary(ctx context.Context, creds Credentials, companyID, beneficiaryID string) error {
	if companyID == "" || beneficiaryID == "" {
		return fmt.Errorf("%w: the company applicant id and the link's id are required", ErrInvalidRequest)
	}
	path := beneficiaryPath(companyID) + "/" + url.PathEscape(beneficiaryID)
	err := c.call(ctx, creds, http.MethodDelete, path, nil, nil)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return nil
	}
	return scrub(err)
}

// sameLink reports whether link b says what want does: the same types
// (in any order) and the same share (none and 0 % alike).
func sameLink(b, want Beneficiary) bool {
	share := func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	}
	if share(b.ShareSize) != share(want.ShareSize) || len(b.Types) != len(want.Types) {
		return false
	}
	got, wanted := slices.Sorted(slices.Values(b.Types)), slices.Sorted(slices.Values(want.Types))
	return slices.Equal(got, wanted)
}

package sumsub

// A company's beneficiaries (KYB 2.0, docs.sumsub.com "Link beneficiary
// to company"): each person who owns or controls the company is an
// individual applicant of its own, linked to the company applicant with
// POST /resources/applicants/{companyId}/fixedInfo/companyInfo/beneficiaries
// {applicantId, types, shareSize}. The link only places the person in the
// company's ownership and control structure; Sumsub reviews each applicant
// on its own (its beneficiary pages: the two "are independent", a
// beneficiary's status does not move the company's, nor the other way
// round).
//
// What we assumed where the documentation is thin:
//   - The types are ubo, shareholder, representative and director. A type
//     Sumsub does not take is its 400: our misconfiguration (Classify).
//   - Sumsub does not say that a second link of the same applicant is
//     refused, so a link is never sent blindly twice: the company
//     applicant's fixedInfo.companyInfo.beneficiaries (GET .../one), each
//     with its applicantId, says who is linked already. A 409 answer to a
//     link is read as "linked already" only once that list shows it.
//   - The link answers the beneficiary it stored; nothing of the answer is
//     needed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
// (their applicant ids, types and shares).
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
		out = append(out, Beneficiary{ApplicantID: b.ApplicantID, Types: b.Types, ShareSize: b.ShareSize})
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
// linked by an earlier run.
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

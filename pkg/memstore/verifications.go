package memstore

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Documents' and verifications' records live in Customers (one lock, so a
// verification's write is atomic with the customer's and the documents').

var (
	_ kyc.DocumentRecords     = (*Customers)(nil)
	_ kyc.VerificationRecords = (*Customers)(nil)
)

func (m *Customers) InsertDocument(_ context.Context, d kyc.Document) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.docs[d.ID]; ok {
		return kyc.ErrDocumentExists
	}
	held := 0
	for _, o := range m.docs {
		if o.Holder == d.Holder {
			held++
		}
	}
	if held >= kyc.MaxDocumentsPerHolder {
		return kyc.ErrHolderFull
	}
	if up, ok := m.uploads[d.Upload]; ok {
		up.Completed = true
		m.uploads[d.Upload] = up
	}
	d.Upload = ""
	m.docs[d.ID] = d
	return nil
}

func (m *Customers) DocumentRecord(_ context.Context, id string) (kyc.Document, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	d, ok := m.docs[id]
	if !ok {
		return kyc.Document{}, kyc.DocumentNotFound()
	}
	return d, nil
}

func (m *Customers) DocumentRange(_ context.Context, q kyc.DocumentRange) ([]kyc.Document, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var all []kyc.Document
	for _, d := range m.docs {
		if d.PlatformID == q.PlatformID && (q.Holder == "" || d.Holder == q.Holder) && d.ListPosition() > q.After {
			all = append(all, d)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ListPosition() < all[j].ListPosition() })
	n := min(len(all), q.Limit)
	return all[:n:n], len(all) > n, nil
}

func (m *Customers) ReplaceDocument(_ context.Context, prev, next kyc.Document) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[prev.ID]
	if !ok || d.Version != prev.Version || d.SubmittedIn != "" {
		return kyc.ErrChanged
	}
	next.Version, next.SubmittedIn = prev.Version+1, ""
	m.docs[prev.ID] = next
	return nil
}

func (m *Customers) DeleteDocument(_ context.Context, prev kyc.Document) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[prev.ID]
	if !ok || d.Version != prev.Version || d.SubmittedIn != "" {
		return kyc.ErrChanged
	}
	delete(m.docs, prev.ID)
	return nil
}

func (m *Customers) VerificationRecord(_ context.Context, id string) (kyc.Verification, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.verifications[id]
	if !ok {
		return kyc.Verification{}, kyc.VerificationNotFound()
	}
	return cloneVerification(v), nil
}

func cloneVerification(v kyc.Verification) kyc.Verification {
	v.Errors = slices.Clone(v.Errors)
	v.Documents = slices.Clone(v.Documents)
	return v
}

func (m *Customers) VerificationRange(_ context.Context, q kyc.VerificationRange) ([]kyc.Verification, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var all []kyc.Verification
	for _, v := range m.verifications {
		if v.PlatformID == q.PlatformID && (q.CustomerID == "" || v.CustomerID == q.CustomerID) && v.ListPosition() > q.After {
			all = append(all, cloneVerification(v))
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ListPosition() < all[j].ListPosition() })
	n := min(len(all), q.Limit)
	return all[:n:n], len(all) > n, nil
}

func (m *Customers) WriteVerification(_ context.Context, w kyc.VerificationWrite) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := w.Verification
	if _, ok := m.verifications[v.ID]; ok {
		return kyc.ErrVerificationExists
	}
	if s := w.Submission; s != nil {
		e, ok := m.byID[s.Customer.ID]
		if !ok || e.rec.Version != s.Customer.Version || e.rec.StatusOf() != s.Customer.StatusOf() ||
			e.rec.VerificationID != s.Customer.VerificationID || e.rec.IsDeleted {
			return kyc.ErrChanged
		}
		// Each owner as read (a review of one since moves no version).
		for _, o := range s.Customer.Owners {
			if cur, ok := e.rec.Owner(o.ID); !ok || cur.StatusOf() != o.StatusOf() || !cur.LastReviewAt.Equal(o.LastReviewAt) {
				return kyc.ErrChanged
			}
		}
		for _, d := range s.Documents {
			if cur, ok := m.docs[d.ID]; !ok || cur.Version != d.Version {
				return kyc.ErrChanged
			}
		}
		for _, d := range s.Documents {
			if cur := m.docs[d.ID]; cur.SubmittedIn == "" {
				cur.SubmittedIn = v.ID
				m.docs[d.ID] = cur
			}
		}
		e.rec.SetStatus(s.Status)
		e.rec.VerificationID, e.rec.UpdatedAt = v.ID, s.UpdatedAt
		e.rec.RejectType, e.rec.RejectLabels = "", nil
		for i := range e.rec.Owners {
			e.rec.Owners[i] = kyc.SubmittedOwner(e.rec.Owners[i])
		}
	}
	m.verifications[v.ID] = cloneVerification(v)
	if m.Outbox != nil {
		for _, n := range w.Notices {
			m.Outbox(n)
		}
	}
	if w.Submission != nil && m.OnSubmit != nil {
		m.OnSubmit(v.ID)
	}
	return nil
}

var _ kyc.SubmissionMarks = (*Customers)(nil)

func (m *Customers) MarkSubmitted(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.marks[id]; !ok {
		m.marks[id] = at
	}
	return nil
}

func (m *Customers) Submitted(_ context.Context, id string) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.marks[id]
	return ok, nil
}

// Verifications lists every verification, newest first (the sandbox's
// inbox).
func (m *Customers) Verifications() []kyc.Verification {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]kyc.Verification, 0, len(m.verifications))
	for _, v := range m.verifications {
		out = append(out, cloneVerification(v))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ListPosition() > out[j].ListPosition() })
	return out
}

var _ kyc.DocumentPurger = (*Customers)(nil)

func (m *Customers) PurgeDocument(_ context.Context, d kyc.Document) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs, d.ID)
	return nil
}

var _ kyc.UploadRecords = (*Customers)(nil)

// Direct uploads' records live beside the documents (an insert that
// completes one marks it under the same lock).

func (m *Customers) PutUpload(_ context.Context, up kyc.Upload) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.uploads[up.ID] = up
	return nil
}

func (m *Customers) UploadRecord(_ context.Context, id string) (kyc.Upload, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	up, ok := m.uploads[id]
	if !ok {
		return kyc.Upload{}, kyc.UploadNotFound()
	}
	return up, nil
}

package kyc

import (
	"context"
	"slices"
	"strconv"
)

// parseQuery reads a list's query parameters: each of known appears at
// most once and is handed to each in name order; an unknown or repeated
// one is a field error. Every bad parameter is reported at once.
func parseQuery(params map[string][]string, known []string, each func(errs *fieldErrors, name, v string)) error {
	var errs fieldErrors
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		vs := params[name]
		shown := name
		if len(shown) > 64 {
			shown = shown[:64] + "…"
		}
		if !slices.Contains(known, name) {
			errs.add(shown, "Unknown query parameter %q.", shown)
			continue
		}
		if len(vs) != 1 {
			errs.add(name, "The query parameter %q appears more than once.", name)
			continue
		}
		each(&errs, name, vs[0])
	}
	return errs.err()
}

// parseLimit reads a list's limit: 1 to MaxListLimit.
func parseLimit(errs *fieldErrors, v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxListLimit || strconv.Itoa(n) != v {
		errs.add("limit", "limit must be a whole number from 1 to %d.", MaxListLimit)
	}
	return n
}

// parseCursorParam reads a list's cursor (opened later, with its key).
func parseCursorParam(errs *fieldErrors, v string) string {
	if v == "" || len(v) > 2048 {
		errs.add("cursor", "cursor must be a nextCursor from an earlier page.")
	}
	return v
}

// startPage is where a list's page starts: its limit (DefaultListLimit when
// unset), the key its cursors are signed with, and the position to read
// after: cursor opened in domain, bound to platformID and filters ("" when
// none).
func startPage(ctx context.Context, cursorKey func(context.Context) ([]byte, error), limit int, domain, platformID, filters, cursor string) (int, []byte, string, error) {
	if limit == 0 {
		limit = DefaultListLimit
	}
	key, err := listCursorKey(ctx, cursorKey)
	if err != nil {
		return 0, nil, "", err
	}
	after := ""
	if cursor != "" {
		if after, err = openCursorIn(domain, key, platformID, filters, cursor); err != nil {
			return 0, nil, "", err
		}
	}
	return limit, key, after, nil
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// repeatedKey finds the first key that appears twice in one object of the
// JSON value data holds, at any depth. encoding/json keeps the last of
// repeated keys and matches struct fields without regard to case, so keys
// that differ only in case count as repeated too: either way two readers
// of the same signed bytes could disagree on what they say. name is the
// repeat, earlier the spelling seen first. Invalid JSON ends the walk
// without a finding; the decoder that follows reports it.
func repeatedKey(data []byte) (name, earlier string, found bool) {
	type frame struct {
		keys     map[string]string // folded key -> first spelling; nil in an array
		wantsKey bool              // an object's next string is a key
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []frame
	// valueDone marks the end of a value: in an object a key comes next.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantsKey = true
		}
	}
	for {
		t, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		if n := len(stack); n > 0 && stack[n-1].wantsKey {
			if k, ok := t.(string); ok {
				top := &stack[n-1]
				f := foldKey(k)
				if first, seen := top.keys[f]; seen {
					return k, first, true
				}
				top.keys[f] = k
				top.wantsKey = false
				continue
			}
		}
		switch t {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]string{}, wantsKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return "", "", false // one whole value walked
		}
		valueDone()
	}
}

// foldKey maps every key encoding/json would match case-insensitively
// (bytes.EqualFold) to one string.
func foldKey(k string) string {
	return strings.Map(func(r rune) rune {
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				return next
			}
			r = next
		}
	}, k)
}

// truncateKey shortens a JSON key for details.field as the link route
// does (64 bytes and an ellipsis), without splitting a character.
func truncateKey(k string) string {
	if len(k) <= 64 {
		return k
	}
	n := 64
	for n > 0 && !utf8.RuneStart(k[n]) {
		n--
	}
	return k[:n] + "…"
}

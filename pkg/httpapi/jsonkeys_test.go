package httpapi

import (
	"strings"
	"testing"
)

func TestRepeatedKey(t *testing.T) {
	long := strings.Repeat("k", 100)
	for _, tc := range []struct {
		name, json   string
		key, earlier string
		wantRepeated bool
	}{
		{"top level", `{"type":"a","type":"b"}`, "type", "type", true},
		{"nested", `{"reviewResult":{"reviewAnswer":"RED","reviewAnswer":"GREEN"}}`, "reviewAnswer", "reviewAnswer", true},
		{"in an object in an array", `{"a":[1,{"x":1,"y":[],"x":2}]}`, "x", "x", true},
		{"after a nested value", `{"a":{"b":[{}]},"c":1,"a":2}`, "a", "a", true},
		{"escaped spelling", `{"reviewAnswer":1,"review\u0041nswer":2}`, "reviewAnswer", "reviewAnswer", true},
		{"differ only in case", `{"externalUserId":"a","EXTERNALUSERID":"b"}`, "EXTERNALUSERID", "externalUserId", true},
		{"Kelvin sign folds to k", "{\"k\":1,\"\u212a\":2}", "\u212a", "k", true},
		{"empty key twice", `{"":1,"":2}`, "", "", true},
		{"long key", `{"` + long + `":1,"` + long + `":2}`, long, long, true},
		{"first of two repeats", `{"a":1,"b":1,"b":2,"a":2}`, "b", "b", true},

		{"same key in sibling objects", `{"a":{"x":1},"b":{"x":1},"x":{"x":{"x":1}}}`, "", "", false},
		{"string values equal to keys", `{"a":"a","b":["a","a"]}`, "", "", false},
		{"array of objects", `[{"a":1},{"a":2}]`, "", "", false},
		{"scalar", `"a"`, "", "", false},
		{"empty object", `{}`, "", "", false},
		{"invalid JSON", `{"a":1,`, "", "", false},
		{"not JSON", "\xff", "", "", false},
		{"repeat only in a second value", `{"a":1} {"a":1,"a":2}`, "", "", false},
		{"repeat before a syntax error", `{"a":1,"a":2,]`, "a", "a", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, earlier, found := repeatedKey([]byte(tc.json))
			if found != tc.wantRepeated || key != tc.key || earlier != tc.earlier {
				t.Fatalf("repeatedKey(%s) = %q, %q, %v; want %q, %q, %v", tc.json, key, earlier, found, tc.key, tc.earlier, tc.wantRepeated)
			}
		})
	}
}

// TestRepeatedKeyDeepNesting: a body nested far deeper than the decoder
// allows is walked without recursion and without a finding.
func TestRepeatedKeyDeepNesting(t *testing.T) {
	body := strings.Repeat(`{"a":[`, 40000) + strings.Repeat(`]}`, 40000)
	if key, _, found := repeatedKey([]byte(body)); found {
		t.Fatalf("found %q in a body without repeats", key)
	}
	body = strings.Repeat(`{"a":`, 40000) + `{"b":1,"b":2}` + strings.Repeat(`}`, 40000)
	if key, _, found := repeatedKey([]byte(body)); !found || key != "b" {
		t.Fatalf("repeatedKey = %q, %v; want the repeated b deep inside", key, found)
	}
}

func TestTruncateKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), strings.Repeat("a", 64) + "…"},
		// é is two bytes; the 64th byte would split it.
		{strings.Repeat("a", 63) + "éé", strings.Repeat("a", 63) + "…"},
	} {
		if got := truncateKey(tc.in); got != tc.want {
			t.Errorf("truncateKey(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

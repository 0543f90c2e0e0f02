package strictjson_test

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grid-kyc/kyc-link/pkg/strictjson"
)

type inner struct {
	Name *string  `json:"name"`
	Tags []string `json:"tags"`
}

type embedded struct {
	Extra string `json:"extra"`
}

// request is a body of our own contract: every key known, typed.
type request struct {
	Name  *string   `json:"name"`
	On    *bool     `json:"on"`
	List  *[]string `json:"list"`
	Inner *inner    `json:"inner"`
	Items []inner   `json:"items"`
	embedded
	Skip string `json:"-"`
	//lint:ignore U1000 unexported: never a field of the body, which the test shows
	hidden string
}

// ignoreErr leaves encoding/json's own error out of comparisons.
var ignoreErr = cmpopts.IgnoreFields(strictjson.Error{}, "Err")

func ptr[T any](v T) *T { return &v }

// checkRefusal decodes body into v and wants the refusal want.
func checkRefusal(t *testing.T, body string, v any, rules strictjson.Rules, want *strictjson.Error) {
	t.Helper()
	err := strictjson.Decode([]byte(body), v, rules)
	var got *strictjson.Error
	if !errors.As(err, &got) {
		t.Fatalf("Decode(%s) = %v; want a *strictjson.Error", body, err)
	}
	if diff := cmp.Diff(want, got, ignoreErr); diff != "" {
		t.Errorf("Decode(%s) (-want +got):\n%s", body, diff)
	}
}

func TestDecode(t *testing.T) {
	refused := map[string]string{"id": "id is read-only.", "inner.secret": "not here"}
	for _, tc := range []struct {
		name, body string
		want       *strictjson.Error
	}{
		{"not UTF-8", "{\"name\":\"\xff\"}", &strictjson.Error{Kind: strictjson.NotUTF8}},
		{"empty", ``, &strictjson.Error{Kind: strictjson.Syntax}},
		{"lone brace", `{`, &strictjson.Error{Kind: strictjson.Syntax}},
		{"array", `[]`, &strictjson.Error{Kind: strictjson.WrongType, Want: "an object"}},
		{"string", `"x"`, &strictjson.Error{Kind: strictjson.WrongType, Want: "an object"}},
		{"null body", `null`, &strictjson.Error{Kind: strictjson.Null}},
		{"second object", `{} {}`, &strictjson.Error{Kind: strictjson.Trailing}},
		{"garbage after", `{}x`, &strictjson.Error{Kind: strictjson.Trailing}},
		{"null field", `{"name":null}`, &strictjson.Error{Kind: strictjson.Null, Path: "name"}},
		{"number for a string", `{"name":1}`, &strictjson.Error{Kind: strictjson.WrongType, Path: "name", Want: "a string"}},
		{"string for a bool", `{"on":"true"}`, &strictjson.Error{Kind: strictjson.WrongType, Path: "on", Want: "true or false"}},
		{"string for an array", `{"list":"a"}`, &strictjson.Error{Kind: strictjson.WrongType, Path: "list", Want: "an array"}},
		{"array for an object", `{"inner":[]}`, &strictjson.Error{Kind: strictjson.WrongType, Path: "inner", Want: "an object"}},
		{"element of the wrong type", `{"list":["a",1]}`, &strictjson.Error{Kind: strictjson.WrongType, Path: "list[1]", Want: "a string"}},
		{"null element", `{"inner":{"tags":[null]}}`, &strictjson.Error{Kind: strictjson.Null, Path: "inner.tags[0]"}},
		// The first problem in reading order wins: the type, before the
		// malformed rest of the value.
		{"wrong type, then malformed", `{"name":[1 "x"]}`, &strictjson.Error{Kind: strictjson.WrongType, Path: "name", Want: "a string"}},
		{"malformed element", `{"inner":{"tags":["a",}}`, &strictjson.Error{Kind: strictjson.Syntax, Path: "inner.tags[1]"}},
		{"malformed key", `{"inner":{"name":"a" "x"}}`, &strictjson.Error{Kind: strictjson.Syntax, Path: "inner"}},
		{"malformed top-level key", `{"name":"a",}`, &strictjson.Error{Kind: strictjson.Syntax}},
		{"truncated value", `{"name":`, &strictjson.Error{Kind: strictjson.Syntax, Path: "name"}},
		{"unknown key", `{"nope":1}`, &strictjson.Error{Kind: strictjson.Unknown, Path: "nope", Key: "nope"}},
		{"unknown before its malformed value", `{"nope":[`, &strictjson.Error{Kind: strictjson.Unknown, Path: "nope", Key: "nope"}},
		{"unknown in an element", `{"items":[{"name":"a"},{"nope":1}]}`, &strictjson.Error{Kind: strictjson.Unknown, Path: "items[1].nope", Key: "nope"}},
		{"other case is unknown", `{"Name":"a"}`, &strictjson.Error{Kind: strictjson.Unknown, Path: "Name", Key: "Name"}},
		{"json:\"-\" is unknown", `{"Skip":"a"}`, &strictjson.Error{Kind: strictjson.Unknown, Path: "Skip", Key: "Skip"}},
		{"unexported is unknown", `{"hidden":"a"}`, &strictjson.Error{Kind: strictjson.Unknown, Path: "hidden", Key: "hidden"}},
		{"repeated", `{"name":"a","on":true,"name":"b"}`, &strictjson.Error{Kind: strictjson.Repeated, Path: "name", Key: "name", Earlier: "name"}},
		{"repeated nested", `{"inner":{"tags":[],"tags":[]}}`, &strictjson.Error{Kind: strictjson.Repeated, Path: "inner.tags", Key: "tags", Earlier: "tags"}},
		{"refused", `{"id":"x"}`, &strictjson.Error{Kind: strictjson.Refused, Path: "id", Key: "id", Reason: "id is read-only."}},
		{"refused by path", `{"inner":{"secret":1}}`, &strictjson.Error{Kind: strictjson.Refused, Path: "inner.secret", Key: "secret", Reason: "not here"}},
		{"refused only at its path", `{"inner":{"id":1}}`, &strictjson.Error{Kind: strictjson.Unknown, Path: "inner.id", Key: "id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRefusal(t, tc.body, &request{}, strictjson.Rules{Refused: refused}, tc.want)
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	body := `{"name":"a","on":false,"list":[],"inner":{"name":"b","tags":["x","y"]},"items":[{},{"tags":[]}],"extra":"e"}`
	var got request
	if err := strictjson.Decode([]byte(body), &got, strictjson.Rules{Refused: map[string]string{"id": "no"}}); err != nil {
		t.Fatal(err)
	}
	want := request{Name: ptr("a"), On: ptr(false), List: ptr([]string{}), Inner: &inner{Name: ptr("b"), Tags: []string{"x", "y"}},
		Items: []inner{{}, {Tags: []string{}}}, embedded: embedded{Extra: "e"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(request{})); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

// TestDecodeMisuse: a target it cannot check is the caller's bug, not a
// refusal of the body.
func TestDecodeMisuse(t *testing.T) {
	var n struct {
		N uint8 `json:"n"`
	}
	var r request
	for name, err := range map[string]error{
		"unsupported kind": strictjson.Decode([]byte(`{"n":1}`), &n, strictjson.Rules{}),
		"not a pointer":    strictjson.Decode([]byte(`{}`), r, strictjson.Rules{}),
	} {
		var e *strictjson.Error
		if err == nil || errors.As(err, &e) {
			t.Errorf("%s: %v; want an error that is not a refusal", name, err)
		}
	}
}

// TestWholeNumbers: an int field takes a JSON number that fits it; any
// other number or value is WrongType naming the field.
func TestWholeNumbers(t *testing.T) {
	var v struct {
		N *int `json:"n"`
	}
	if err := strictjson.Decode([]byte(`{"n":51}`), &v, strictjson.Rules{}); err != nil || *v.N != 51 {
		t.Fatalf("51: %v", err)
	}
	for _, body := range []string{`{"n":51.5}`, `{"n":1e30}`, `{"n":"51"}`, `{"n":true}`, `{"n":[1]}`} {
		err := strictjson.Decode([]byte(body), &v, strictjson.Rules{})
		var e *strictjson.Error
		if !errors.As(err, &e) || e.Kind != strictjson.WrongType || e.Path != "n" {
			t.Errorf("%s: %v; want WrongType at n", body, err)
		}
	}
}

// event is a document another party extends as it pleases (Sumsub's).
type event struct {
	Type   string   `json:"type"`
	User   string   `json:"externalUserId"`
	Labels []string `json:"labels"`
	Result *struct {
		Answer string `json:"reviewAnswer"`
	} `json:"reviewResult"`
}

func TestDecodeOpen(t *testing.T) {
	long := strings.Repeat("k", 100)
	repeated := func(path, key, earlier string) *strictjson.Error {
		return &strictjson.Error{Kind: strictjson.Repeated, Path: path, Key: key, Earlier: earlier}
	}
	for _, tc := range []struct {
		name, body string
		want       *strictjson.Error
	}{
		{"top level", `{"type":"a","type":"b"}`, repeated("type", "type", "type")},
		{"nested", `{"reviewResult":{"reviewAnswer":"RED","reviewAnswer":"GREEN"}}`, repeated("reviewResult.reviewAnswer", "reviewAnswer", "reviewAnswer")},
		{"in an object in an array", `{"a":[1,{"x":1,"y":[],"x":2}]}`, repeated("a[1].x", "x", "x")},
		{"after a nested value", `{"a":{"b":[{}]},"c":1,"a":2}`, repeated("a", "a", "a")},
		{"escaped spelling", `{"reviewAnswer":1,"review\u0041nswer":2}`, repeated("reviewAnswer", "reviewAnswer", "reviewAnswer")},
		{"differ only in case", `{"externalUserId":"a","EXTERNALUSERID":"b"}`, repeated("EXTERNALUSERID", "EXTERNALUSERID", "externalUserId")},
		{"Kelvin sign folds to k", "{\"k\":1,\"\u212a\":2}", repeated("\u212a", "\u212a", "k")},
		{"empty key twice", `{"":1,"":2}`, repeated("", "", "")},
		{"long key", `{"` + long + `":1,"` + long + `":2}`, repeated(long, long, long)},
		{"first of two repeats", `{"a":1,"b":1,"b":2,"a":2}`, repeated("b", "b", "b")},
		{"repeat before a syntax error", `{"a":1,"a":2,]`, repeated("a", "a", "a")},
		// A number no float64 holds does not end the walk early.
		{"after a huge number", `{"x":1e400,"type":"a","type":"b"}`, repeated("type", "type", "type")},
		{"invalid JSON", `{"a":1,`, &strictjson.Error{Kind: strictjson.Syntax}},
		{"not JSON", "\xff", &strictjson.Error{Kind: strictjson.Syntax}},
		{"repeat only in a second value", `{"a":1} {"a":1,"a":2}`, &strictjson.Error{Kind: strictjson.Trailing}},
		{"wrong type, found by encoding/json", `{"type":1}`, &strictjson.Error{Kind: strictjson.WrongType, Path: "type"}},
		{"array for the event", `[{"a":1},{"a":2}]`, &strictjson.Error{Kind: strictjson.WrongType}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRefusal(t, tc.body, &event{}, strictjson.Rules{Open: true}, tc.want)
		})
	}
}

// TestDecodeOpenAccepts: what Open leaves to encoding/json, it reads as
// encoding/json does: unknown keys, nulls, other cases, invalid UTF-8, the
// same key in different objects.
func TestDecodeOpenAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       event
	}{
		{"unknown keys and nulls", `{"type":"a","info":{"x":null,"y":[1e400]},"reviewResult":null,"labels":null}`, event{Type: "a"}},
		{"other case", `{"TYPE":"a","ExternalUserID":"u"}`, event{Type: "a", User: "u"}},
		{"not UTF-8", "{\"type\":\"a\xff\"}", event{Type: "a\uFFFD"}},
		{"same key in sibling objects", `{"type":"a","reviewResult":{"reviewAnswer":"RED","type":"x"},"info":{"type":"y","reviewResult":{}}}`,
			event{Type: "a", Result: &struct {
				Answer string `json:"reviewAnswer"`
			}{"RED"}}},
		{"string values equal to keys", `{"type":"type","labels":["type","type"]}`, event{Type: "type", Labels: []string{"type", "type"}}},
		{"empty", `{}`, event{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got event
			if err := strictjson.Decode([]byte(tc.body), &got, strictjson.Rules{Open: true}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decode(%s) (-want +got):\n%s", tc.body, diff)
			}
		})
	}
}

// TestDepth: nesting is refused where encoding/json refuses it, walked
// without recursion, and a repeat deep inside is still found.
func TestDepth(t *testing.T) {
	nested := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	var v any
	if err := json.Unmarshal(nested(strictjson.MaxDepth), &v); err != nil {
		t.Fatalf("encoding/json refuses depth MaxDepth: %v", err)
	}
	if err := json.Unmarshal(nested(strictjson.MaxDepth+1), &v); err == nil {
		t.Fatalf("encoding/json reads depth MaxDepth+1: MaxDepth is not its limit")
	}
	if err := strictjson.Decode(nested(strictjson.MaxDepth), &v, strictjson.Rules{Open: true}); err != nil {
		t.Fatalf("depth MaxDepth: %v", err)
	}
	for _, n := range []int{strictjson.MaxDepth + 1, 40000} {
		var e *strictjson.Error
		if err := strictjson.Decode(nested(n), &v, strictjson.Rules{Open: true}); !errors.As(err, &e) || e.Kind != strictjson.TooDeep {
			t.Errorf("depth %d: %v; want TooDeep", n, err)
		}
	}
	deep := strings.Repeat(`{"a":`, 9000) + `{"b":1,"b":2}` + strings.Repeat(`}`, 9000)
	var e *strictjson.Error
	if err := strictjson.Decode([]byte(deep), &v, strictjson.Rules{Open: true}); !errors.As(err, &e) || e.Kind != strictjson.Repeated || e.Key != "b" {
		t.Fatalf("repeat at depth 9001: %v; want the repeated b", err)
	}
}

func TestErrorSaysWhatAndWhere(t *testing.T) {
	var v request
	err := strictjson.Decode([]byte(`{"inner":{"tags":["a",}}`), &v, strictjson.Rules{})
	var se *json.SyntaxError
	if err == nil || err.Error() != `strictjson: not valid JSON at "inner.tags[1]"` || !errors.As(err, &se) {
		t.Errorf("error = %v; want the kind and the path, wrapping encoding/json's", err)
	}
	if got := (&strictjson.Error{Kind: strictjson.Trailing}).Error(); got != "strictjson: data after the value" {
		t.Errorf("Error() = %q", got)
	}
}

func TestShorten(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{strings.Repeat("a", 64), 64, strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), 64, strings.Repeat("a", 64) + "…"},
		// é is two bytes; the 64th byte would split it.
		{strings.Repeat("a", 63) + "éé", 64, strings.Repeat("a", 63) + "…"},
		{strings.Repeat("a", 99) + "éé", 100, strings.Repeat("a", 99) + "…"},
	} {
		if got := strictjson.Shorten(tc.in, tc.n); got != tc.want {
			t.Errorf("Shorten(%q, %d) = %q; want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		size    int
		wantErr error
	}{{0, nil}, {10, nil}, {11, strictjson.ErrTooLarge}, {1 << 20, strictjson.ErrTooLarge}} {
		r := strings.NewReader(strings.Repeat("a", tc.size))
		body, err := strictjson.Read(r, 10)
		if !errors.Is(err, tc.wantErr) || (err == nil && len(body) != tc.size) {
			t.Errorf("Read(%d bytes) = %d bytes, %v; want %v", tc.size, len(body), err, tc.wantErr)
		}
		if read := tc.size - r.Len(); read > 11 {
			t.Errorf("Read(%d bytes) read %d bytes; want at most the limit and one", tc.size, read)
		}
	}
	errBroken := errors.New("connection reset")
	broken := io.MultiReader(strings.NewReader("{"), iotest.ErrReader(errBroken))
	if _, err := strictjson.Read(broken, 10); errors.Is(err, strictjson.ErrTooLarge) || !errors.Is(err, errBroken) {
		t.Errorf("Read(broken) = %v; want the reader's error", err)
	}
}

// FuzzDecode: whatever the body, no panic and every refusal an *Error; a
// body Decode accepts, json.Unmarshal reads to the same value; in Open
// mode a body json.Unmarshal refuses is refused too.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"a","inner":{"tags":["x"]},"items":[{}]}`, `{"name":"a","name":"b"}`,
		`{"type":"a","reviewResult":{"reviewAnswer":"RED"},"x":[1e400,null]}`, `{"TYPE":"a","type":"b"}`, `[[[]]]`, "{\"\xff\":1}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var e *strictjson.Error
		var strict, plain request
		err := strictjson.Decode(body, &strict, strictjson.Rules{})
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("Decode(%q) = %v; want a *strictjson.Error", body, err)
		}
		if err == nil {
			if err := json.Unmarshal(body, &plain); err != nil || !cmp.Equal(strict, plain, cmp.AllowUnexported(request{})) {
				t.Fatalf("Decode(%q) accepted %+v; json.Unmarshal: %+v, %v", body, strict, plain, err)
			}
		}
		var open, plainEvent event
		openErr := strictjson.Decode(body, &open, strictjson.Rules{Open: true})
		plainErr := json.Unmarshal(body, &plainEvent)
		switch {
		case openErr != nil && !errors.As(openErr, &e):
			t.Fatalf("Decode(%q, Open) = %v; want a *strictjson.Error", body, openErr)
		case openErr == nil && plainErr != nil:
			t.Fatalf("Decode(%q, Open) accepted what json.Unmarshal refuses: %v", body, plainErr)
		case openErr == nil && !cmp.Equal(open, plainEvent):
			t.Fatalf("Decode(%q, Open) = %+v; json.Unmarshal: %+v", body, open, plainEvent)
		}
	})
}

// Package strictjson reads JSON bodies strictly. It is the one walker
// every JSON body this service reads goes through (the link's, the
// platform API's, Sumsub's events), so that they all refuse the same
// things the same way: invalid UTF-8, keys the target does not have,
// null, a key repeated in one object (keys that differ only in case
// count, since encoding/json matches them to one field), values of the
// wrong JSON type, nesting deeper than encoding/json reads, anything after
// the value, and bodies over a size. The caller words the refusal
// (Error says what and where); this package knows nothing of HTTP.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDepth is how deeply arrays and objects may nest: encoding/json's own
// limit, so a body the walk accepts is one json.Unmarshal reads.
const MaxDepth = 10000

// Kind is what a body was refused for.
type Kind int

// The refusals.
const (
	NotUTF8   Kind = iota + 1 // the body is not valid UTF-8
	Syntax                    // not JSON (malformed, truncated, empty) at Path
	Trailing                  // something after the value
	TooDeep                   // arrays and objects nested deeper than MaxDepth
	Refused                   // a key Rules.Refused lists; Reason says why
	Unknown                   // a key the target does not have
	Repeated                  // a key a second time in one object, in any case
	Null                      // null where the target wants a value
	WrongType                 // a value of the wrong JSON type; Want says which
)

func (k Kind) String() string {
	switch k {
	case NotUTF8:
		return "not UTF-8"
	case Syntax:
		return "not valid JSON"
	case Trailing:
		return "data after the value"
	case TooDeep:
		return "nested too deeply"
	case Refused:
		return "refused key"
	case Unknown:
		return "unknown key"
	case Repeated:
		return "repeated key"
	case Null:
		return "null"
	case WrongType:
		return "wrong type"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a refusal. Its message names keys, never a value of the body
// (Err, encoding/json's own error, may quote one: do not show it).
type Error struct {
	Kind Kind
	// Path is where: "" for the body itself, else the path of the field
	// (businessInfo.legalName, currencies[2]); for a key (Refused,
	// Unknown, Repeated) the key's own path, in full.
	Path string
	// Key is the key itself (Refused, Unknown, Repeated), Earlier its
	// first spelling (Repeated; it differs from Key only in case).
	Key, Earlier string
	// Want is what the field takes (WrongType): "a string", "true or
	// false", "an object", "an array"; empty when encoding/json found the
	// mismatch (Rules.Open).
	Want string
	// Reason is Rules.Refused's reason (Refused).
	Reason string
	// Err is encoding/json's error (Syntax, WrongType), if any.
	Err error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "strictjson: " + e.Kind.String()
	}
	return fmt.Sprintf("strictjson: %s at %q", e.Kind, e.Path)
}

func (e *Error) Unwrap() error { return e.Err }

// Rules say what a body may hold besides what its target defines.
type Rules struct {
	// Refused maps paths of keys to refuse to the reason (a read-only
	// field, a field of the contract this service does not keep).
	Refused map[string]string
	// Open reads a document its sender extends as it pleases (Sumsub's
	// events): keys the target lacks, nulls, bytes that are not UTF-8
	// and the values' types are left to encoding/json as it decodes (it
	// ignores the first two, matches keys case-insensitively and refuses
	// a wrong type). Repeated keys, depth and trailing data are refused
	// all the same.
	Open bool
}

// Decode reads data, one JSON value, into v, a pointer to a struct whose
// fields are structs, slices, strings or bools (or pointers to them),
// named by json tags. Without Rules.Open every key must be a field's name
// exactly (encoding/json would also take other cases). A refusal is an
// *Error; any other error is the caller's bug (an unsupported type).
func Decode(data []byte, v any, rules Rules) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("strictjson: Decode into %T, not a pointer", v)
	}
	if !rules.Open && !utf8.Valid(data) {
		return &Error{Kind: NotUTF8}
	}
	want := t.Elem()
	if rules.Open {
		want = nil // no type checked: encoding/json decides
	}
	w := walker{dec: json.NewDecoder(bytes.NewReader(data)), refused: rules.Refused}
	// Numbers stay text: a number a float64 cannot hold (1e400) would
	// otherwise end the walk before the keys after it.
	w.dec.UseNumber()
	if err := w.walk(want); err != nil {
		return err
	}
	if _, err := w.dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Kind: Trailing}
	}
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if rules.Open && errors.As(err, &te) {
			return &Error{Kind: WrongType, Path: te.Field, Err: err}
		}
		// A number the walk let through that does not fit its integer
		// field (51.5, 1e30).
		if errors.As(err, &te) && te.Value == "number" || errors.As(err, &te) && strings.HasPrefix(te.Value, "number ") {
			return &Error{Kind: WrongType, Path: te.Field, Want: "a whole number", Err: err}
		}
		// The walk checked everything else, so this is our bug.
		return fmt.Errorf("strictjson: decode a checked body: %w", err)
	}
	return nil
}

// frame is an array or object being walked.
type frame struct {
	array  bool
	next   int                     // arrays: the index of the next element
	elem   reflect.Type            // arrays: the elements' type; nil: any
	key    string                  // objects: the key of the value being read
	fields map[string]reflect.Type // objects: the target's fields; nil: any key
	keys   map[string]string       // objects: folded key -> first spelling
}

type walker struct {
	dec     *json.Decoder
	refused map[string]string
	stack   []frame
}

// walk reads one value of type want (nil: any) with an explicit stack, so
// that nesting costs no recursion.
func (w *walker) walk(want reflect.Type) error {
	for {
		tok, err := w.dec.Token()
		if err != nil {
			return &Error{Kind: Syntax, Path: w.path(len(w.stack)), Err: err}
		}
		if err := w.enter(want, tok); err != nil {
			return err
		}
		// The next value to read, closing every container that ends.
		for {
			n := len(w.stack)
			if n == 0 {
				return nil
			}
			top := &w.stack[n-1]
			if !w.dec.More() {
				if _, err := w.dec.Token(); err != nil {
					return &Error{Kind: Syntax, Path: w.path(n - 1), Err: err}
				}
				w.stack = w.stack[:n-1]
				continue
			}
			if top.array {
				want = top.elem
				top.next++
				break
			}
			tok, err := w.dec.Token()
			if err != nil {
				return &Error{Kind: Syntax, Path: w.path(n - 1), Err: err}
			}
			key, _ := tok.(string)
			if want, err = w.member(key); err != nil {
				return err
			}
			break
		}
	}
}

// enter checks the first token of a value of type want and, for an array
// or object, starts walking it.
func (w *walker) enter(want reflect.Type, tok json.Token) error {
	for want != nil && want.Kind() == reflect.Pointer {
		want = want.Elem()
	}
	d, delim := tok.(json.Delim)
	wrong := func(what string) error {
		return &Error{Kind: WrongType, Path: w.path(len(w.stack)), Want: what}
	}
	switch {
	case want == nil && !delim:
		return nil
	case want == nil && d == '[':
		return w.push(frame{array: true})
	case want == nil:
		return w.push(frame{keys: map[string]string{}})
	case tok == nil:
		return &Error{Kind: Null, Path: w.path(len(w.stack))}
	}
	switch want.Kind() {
	case reflect.Struct:
		if d != '{' {
			return wrong("an object")
		}
		return w.push(frame{fields: jsonFields(want), keys: map[string]string{}})
	case reflect.Slice:
		if d != '[' {
			return wrong("an array")
		}
		return w.push(frame{array: true, elem: want.Elem()})
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return wrong("a string")
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return wrong("true or false")
		}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		// A number; whether it fits (whole, in range) is encoding/json's
		// to say when it decodes it (a WrongType too).
		switch tok.(type) {
		case float64, json.Number:
		default:
			return wrong("a whole number")
		}
	default:
		return fmt.Errorf("strictjson: unsupported kind %s at %q", want.Kind(), w.path(len(w.stack)))
	}
	return nil
}

func (w *walker) push(f frame) error {
	if len(w.stack) == MaxDepth {
		return &Error{Kind: TooDeep, Path: w.path(len(w.stack))}
	}
	w.stack = append(w.stack, f)
	return nil
}

// member checks a key of the object on top of the stack and returns the
// type of its value (nil: any).
func (w *walker) member(key string) (reflect.Type, error) {
	top := &w.stack[len(w.stack)-1]
	top.key = key
	if len(w.refused) > 0 {
		if reason, ok := w.refused[w.path(len(w.stack))]; ok {
			return nil, &Error{Kind: Refused, Path: w.path(len(w.stack)), Key: key, Reason: reason}
		}
	}
	var t reflect.Type
	if top.fields != nil {
		var ok bool
		if t, ok = top.fields[key]; !ok {
			return nil, &Error{Kind: Unknown, Path: w.path(len(w.stack)), Key: key}
		}
	}
	f := foldKey(key)
	if first, seen := top.keys[f]; seen {
		return nil, &Error{Kind: Repeated, Path: w.path(len(w.stack)), Key: key, Earlier: first}
	}
	top.keys[f] = key
	return t, nil
}

// path is the path of the value being read in the first n frames:
// businessInfo.legalName, currencies[2]. It is built only when asked for,
// so a deep body costs no path per value.
func (w *walker) path(n int) string {
	var b strings.Builder
	for _, f := range w.stack[:n] {
		switch {
		case f.array:
			b.WriteString("[" + strconv.Itoa(f.next-1) + "]")
		case b.Len() > 0:
			b.WriteString("." + f.key)
		default:
			b.WriteString(f.key)
		}
	}
	return b.String()
}

// jsonFields maps the JSON names of t's fields (embedded structs' fields
// promoted, as encoding/json does) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			for k, v := range jsonFields(et) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
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

// Shorten cuts s to at most n bytes and an ellipsis, without splitting a
// character: a key named in an answer (details.field) stays short.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ErrTooLarge is Read's refusal of a body over its limit.
var ErrTooLarge = errors.New("strictjson: body too large")

// Read reads a body of at most max bytes, reading no further than one
// byte past it: a larger body is ErrTooLarge, a failed read (a client
// that declares more than it sends runs into the request's deadline)
// the reader's error.
func Read(r io.Reader, max int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("strictjson: read body: %w", err)
	}
	if len(body) > max {
		return nil, ErrTooLarge
	}
	return body, nil
}

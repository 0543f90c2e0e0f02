package kyc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// decodeStrict reads data, one JSON object, into v (a pointer to a struct
// with json tags) and refuses anything the contract does not define, each
// refusal an InvalidField naming the field by its path
// (businessInfo.legalName, currencies[2]): a field v does not have (names
// match exactly, not case-folded as encoding/json would), a field listed in
// refused (the message given, e.g. a read-only field), a repeated field,
// null (omit a field to leave it out), a value of the wrong JSON type,
// invalid UTF-8, and anything after the object. No value is ever repeated
// in a message.
func decodeStrict(data []byte, v any, refused map[string]string) error {
	if !utf8.Valid(data) {
		return InvalidField("body", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := walker{dec: dec, refused: refused}
	if err := w.value(reflect.TypeOf(v).Elem(), ""); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return InvalidField("body", "The request body must hold one JSON object and nothing after it.")
	}
	if err := json.Unmarshal(data, v); err != nil {
		// The walk checked every type, so this is our bug.
		return Internal(fmt.Errorf("kyc: decode checked body: %w", err))
	}
	return nil
}

type walker struct {
	dec     *json.Decoder
	refused map[string]string
}

func (w *walker) token(path string) (json.Token, error) {
	t, err := w.dec.Token()
	if err != nil {
		if path == "" {
			return nil, InvalidField("body", "The request body must be a JSON object.")
		}
		return nil, InvalidField(path, "%s is not valid JSON.", path)
	}
	return t, nil
}

// value reads one value of type t at path.
func (w *walker) value(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := w.token(path)
	if err != nil {
		return err
	}
	if tok == nil {
		if path == "" {
			return InvalidField("body", "The request body must be a JSON object.")
		}
		return InvalidField(path, "%s must not be null; leave the field out instead.", path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			if path == "" {
				return InvalidField("body", "The request body must be a JSON object.")
			}
			return InvalidField(path, "%s must be an object.", path)
		}
		return w.object(t, path)
	case reflect.Slice:
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return InvalidField(path, "%s must be an array.", path)
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := w.token(path) // ]
		return err
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return wrongType(path, "a string")
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return wrongType(path, "true or false")
		}
	default:
		return Internal(fmt.Errorf("kyc: decodeStrict: unsupported kind %s at %s", t.Kind(), path))
	}
	return nil
}

// wrongType refuses a value of the wrong JSON type.
func wrongType(path, want string) error {
	return InvalidField(path, "%s must be %s.", path, want)
}

func (w *walker) object(t reflect.Type, path string) error {
	fields := jsonFields(t)
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.token(path)
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		full := name
		if path != "" {
			full = path + "." + name
		}
		shown := full
		if len(shown) > 100 {
			shown = shown[:100] + "…"
		}
		if msg, ok := w.refused[full]; ok {
			return InvalidField(shown, "%s", msg)
		}
		ft, ok := fields[name]
		if !ok {
			return InvalidField(shown, "Unknown field %q.", shown)
		}
		if seen[name] {
			return InvalidField(shown, "The field %q appears more than once.", shown)
		}
		seen[name] = true
		if err := w.value(ft, full); err != nil {
			return err
		}
	}
	_, err := w.token(path) // }
	return err
}

// jsonFields maps the JSON names of t's fields (embedded structs' fields
// promoted, as encoding/json does) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
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

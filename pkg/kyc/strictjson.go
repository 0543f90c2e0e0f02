package kyc

import (
	"errors"
	"fmt"

	"github.com/grid-kyc/kyc-link/pkg/strictjson"
)

// decodeStrict reads data, one JSON object, into v (a pointer to a struct
// with json tags) with strictjson's rules, refused listing fields refused
// with a reason (a read-only field). Each refusal is an InvalidField naming
// the field by its path (businessInfo.legalName, currencies[2]); no value
// is ever repeated in a message.
func decodeStrict(data []byte, v any, refused map[string]string) error {
	err := strictjson.Decode(data, v, strictjson.Rules{Refused: refused})
	if err == nil {
		return nil
	}
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return Internal(fmt.Errorf("kyc: decode body: %w", err))
	}
	// A key may be anything the caller sent: it is named shortened.
	shown := strictjson.Shorten(e.Path, 100)
	switch {
	case e.Kind == strictjson.NotUTF8:
		return InvalidField("body", "The request body is not valid UTF-8.")
	case e.Kind == strictjson.Trailing:
		return InvalidField("body", "The request body must hold one JSON object and nothing after it.")
	case e.Kind == strictjson.Refused:
		return InvalidField(shown, "%s", e.Reason)
	case e.Kind == strictjson.Unknown:
		return InvalidField(shown, "Unknown field %q.", shown)
	case e.Kind == strictjson.Repeated:
		return InvalidField(shown, "The field %q appears more than once.", shown)
	case e.Path == "":
		return InvalidField("body", "The request body must be a JSON object.")
	case e.Kind == strictjson.Null:
		return InvalidField(e.Path, "%s must not be null; leave the field out instead.", e.Path)
	case e.Kind == strictjson.WrongType:
		return InvalidField(e.Path, "%s must be %s.", e.Path, e.Want)
	}
	// Syntax, and nesting deeper than any field of ours.
	return InvalidField(e.Path, "%s is not valid JSON.", e.Path)
}

// Package requestid carries the id that ties a request's answer to its log
// line: API Gateway's own id under Lambda, a random one elsewhere.
package requestid

import (
	"context"
	"crypto/rand"
	"strings"
)

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// FromOrNew returns the id in ctx or, when there is none (outside Lambda),
// a new random one.
func FromOrNew(ctx context.Context) string {
	if id, ok := ctx.Value(key{}).(string); ok && id != "" {
		return id
	}
	return strings.ToLower(rand.Text())
}

// Package secrets reads secret strings (from AWS Secrets Manager or from
// memory) and keeps a parsed copy cached, refreshed in the background of
// requests without ever dropping the last good value.
package secrets

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound reports a secret id the source does not hold.
var ErrNotFound = errors.New("secret not found")

// ErrFormat reports a secret whose value is not in the expected format.
var ErrFormat = errors.New("secret is not in the expected format")

// Source returns the current SecretString of a secret.
type Source interface {
	SecretString(ctx context.Context, id string) (string, error)
}

// Memory is a Source held in memory, for local mode and tests.
type Memory map[string]string

var _ Source = Memory(nil)

func (m Memory) SecretString(_ context.Context, id string) (string, error) {
	s, ok := m[id]
	if !ok {
		return "", fmt.Errorf("secret %q: %w", id, ErrNotFound)
	}
	return s, nil
}

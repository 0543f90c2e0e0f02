package kyc

import "log/slog"

// Secret is write-only personal data on its way to the Sealer: an SSN or
// ITIN (identifier), a business tax id. It prints, logs and marshals as
// "[redacted]", so neither a log line, a trace attribute nor an answer can
// carry it by accident; only Reveal returns the value, for sealing.
type Secret string

const redacted = "[redacted]"

// Reveal returns the plaintext. Only the Sealer's caller uses it.
func (s Secret) Reveal() string { return string(s) }

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

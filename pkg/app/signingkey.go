package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// LocalSigningSecret is the Grid webhook signing key secret of a local run
// that makes its own (make run's memory backend; make dev stores it in
// moto): the key kept in cfg.SigningKeyFile, made there on first use, or,
// when that is unset, a key made for this process only. A deployed stack's
// key is never this: it is read from Secrets Manager, and under Lambda
// cfg.SigningKeyFile is always empty.
func LocalSigningSecret(cfg Config, logger *slog.Logger) (string, error) {
	if cfg.SigningKeyFile == "" {
		secret, _, err := gridhook.NewKey()
		return secret, err
	}
	k, created, err := gridhook.LoadOrCreateKeyFile(cfg.SigningKeyFile)
	if err != nil {
		return "", fmt.Errorf("KYC_SIGNING_KEY_FILE: %w", err)
	}
	if created {
		logger.Info("sandbox signing key created", "file", cfg.SigningKeyFile, "fingerprint", gridhook.Fingerprint(&k.PublicKey))
	}
	return gridhook.SigningSecret(k)
}

// SigningKeyBanner is what a local run prints at start about the key it
// signs Grid webhooks with: its fingerprint, where it is kept, the URL
// that serves it and the public key PEM a platform pins; "" where this
// entry has no sandbox inbox.
func (s *Service) SigningKeyBanner(ctx context.Context) string {
	if s.Inbox == nil {
		return ""
	}
	k, err := s.root.secrets.signing.Get(ctx)
	if err != nil {
		return "The webhook signing key could not be read: " + err.Error()
	}
	cfg := s.root.cfg
	kept := "made for this process only (set KYC_SIGNING_KEY_FILE to keep one across restarts)"
	if cfg.SigningKeyFile != "" {
		kept = "kept in " + cfg.SigningKeyFile + " (delete the file for a new key)"
	}
	return fmt.Sprintf("Grid webhooks are signed with a sandbox key %s;\nits SHA-256 fingerprint is %s. "+
		"Platforms pin its public key,\nserved at GET %s%s:\n\n%s",
		kept, gridhook.Fingerprint(&k.PublicKey), strings.TrimRight(cfg.PublicURL, "/"), sandbox.WebhookKeyPath,
		gridhook.PublicPEM(k))
}

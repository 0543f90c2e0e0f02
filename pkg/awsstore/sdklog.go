package awsstore

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/smithy-go/logging"
)

// sdkLogger routes the AWS SDK's own messages (a response body it could not
// drain, a retry it gave up) through the service's JSON logger: the SDK's
// default writes "SDK 2026/12/01 … WARN …" text lines to stderr, which break
// the one-JSON-object-per-line log that Logs Insights and the metric filters
// read.
type sdkLogger struct {
	logger *slog.Logger
	ctx    context.Context
}

var _ logging.ContextLogger = sdkLogger{}

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelWarn
	if c == logging.Debug {
		level = slog.LevelDebug
	}
	ctx := l.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	l.logger.LogAttrs(ctx, level, "aws sdk", slog.String("sdk_message", fmt.Sprintf(format, v...)))
}

// WithContext keeps the call's context, so the line carries its trace id.
func (l sdkLogger) WithContext(ctx context.Context) logging.Logger {
	return sdkLogger{logger: l.logger, ctx: ctx}
}

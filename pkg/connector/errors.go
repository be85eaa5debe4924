package connector

import (
	"context"
	"fmt"
	"strings"

	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// prefix starts every error the connector returns, and every line it logs,
// once.
const prefix = "baton-trayai: "

// errorf is an error of the connector's own: one line with a gRPC code.
func errorf(code codes.Code, format string, args ...any) error {
	return status.Errorf(code, prefix+format, args...)
}

// invalid is a configuration error.
func invalid(format string, args ...any) error { return errorf(codes.InvalidArgument, format, args...) }

// wrapf reports a failed Tray.ai call as "baton-trayai: <what>: <the
// client's message>", keeping the client's gRPC code and details (the
// rate-limit reset the SDK waits for), and says what to do when the code
// is about the token.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s%s: %w", prefix, what, err)
	}
	p := st.Proto()
	p.Message = prefix + what + ": " + strings.TrimPrefix(p.GetMessage(), prefix)
	if hint := hintFor(st.Code()); hint != "" && !strings.Contains(p.GetMessage(), hint) {
		p.Message += "; " + hint
	}
	return status.ErrorProto(p)
}

func hintFor(code codes.Code) string {
	switch code {
	case codes.Unauthenticated:
		return "the API token is invalid, expired or for another region: check --auth-token (BATON_AUTH_TOKEN) and --region"
	case codes.PermissionDenied:
		return "the API user's role does not allow this: give it the Admin organization role in Tray.ai"
	default:
		return ""
	}
}

// log is the connector's logger: every line starts with the prefix.
type log struct{ l *zap.Logger }

func logger(ctx context.Context) log { return log{ctxzap.Extract(ctx)} }

func (g log) Debug(msg string, fields ...zap.Field) { g.l.Debug(prefix+msg, fields...) }
func (g log) Info(msg string, fields ...zap.Field)  { g.l.Info(prefix+msg, fields...) }
func (g log) Warn(msg string, fields ...zap.Field)  { g.l.Warn(prefix+msg, fields...) }

package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/viper"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/internal/outcome"
	"github.com/conductorone/baton-trayai/internal/scratch"
)

// Start-up retries in service mode: from a second, doubling, to a minute,
// which keeps a restart loop of the pod from adding its own back-off.
const (
	firstStartupRetry = time.Second
	maxStartupRetry   = time.Minute
)

// serve runs service mode in this process, with the SDK's connector
// process as its only child: there is no exit status for a supervisor to
// own. It does what the SDK leaves undone for a long-lived service: it
// retries a start-up that ConductorOne did not answer instead of exiting,
// and on SIGTERM or SIGINT it removes the run's temporary data before it
// exits, within seconds.
func serve(ctx context.Context, v *viper.Viper, dir *scratch.Dir, log *zap.Logger) int {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		sig := <-stop
		// The SDK stops nothing on SIGTERM and leaves its temporary data on
		// SIGINT. A task in flight is not finished: ConductorOne hands it
		// out again once its heartbeats stop (docs/service-mode.md).
		log.Info("baton-trayai: stopping on a signal; a task in flight is left to ConductorOne, which runs it again",
			zap.String("signal", sig.String()))
		_ = dir.Release()
		os.Exit(outcome.CodeSignaled + signalNumber(sig))
	}()

	health, err := startHealthFront(ctx, v)
	if err != nil {
		log.Error(err.Error())
		return int(codes.InvalidArgument)
	}
	defer health.Close()

	wait := firstStartupRetry
	for {
		code, err := execute(ctx, nil, false)
		if err == nil || !startupUnanswered(err) {
			if err != nil {
				if hint := credentialHint(err); hint != "" {
					log.Error(hint)
				}
			}
			return code
		}
		log.Warn("baton-trayai: ConductorOne did not answer the connector's start-up; retrying",
			zap.Duration("retry_in", wait), zap.String("reason", oneLine(err)))
		time.Sleep(wait)
		wait = min(2*wait, maxStartupRetry)
	}
}

// tokenStatus reads the HTTP status of a failed token exchange from the
// SDK's message ("failed to get token: 503 Service Unavailable").
var tokenStatus = regexp.MustCompile(`failed to get token: (\d{3})`)

// startupUnanswered reports a start-up of service mode that failed because
// ConductorOne did not answer, which a later attempt may survive: the SDK
// gives up on it at once. Rejected credentials and a configuration that
// cannot work are final.
func startupUnanswered(err error) bool {
	msg := err.Error()
	if !strings.Contains(msg, "startup Hello failed") {
		return false
	}
	if m := tokenStatus.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.Atoi(m[1])
		return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	default:
	}
	// A token request that got no answer, and a dial that timed out.
	return strings.Contains(msg, "per-RPC creds failed") || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(msg, "context deadline exceeded")
}

// credentialHint says what to do when ConductorOne refused the connector.
func credentialHint(err error) string {
	if m := tokenStatus.FindStringSubmatch(err.Error()); m != nil && (m[1] == "401" || m[1] == "400" || m[1] == "403") {
		return "baton-trayai: ConductorOne rejected the client credentials (" + m[1] +
			"): check --client-id and --client-secret (BATON_CLIENT_ID, BATON_CLIENT_SECRET); rotate them in ConductorOne if they were revoked"
	}
	return ""
}

// startupLogger logs what happens before and around the SDK's own logger,
// in the same JSON form.
func startupLogger(v *viper.Viper) *zap.Logger {
	level := zapcore.InfoLevel
	_ = level.Set(setting(v, "log-level"))
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = zapcore.EpochTimeEncoder
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(os.Stderr), level))
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

func signalNumber(s os.Signal) int {
	if sig, ok := s.(syscall.Signal); ok {
		return int(sig)
	}
	return 0
}

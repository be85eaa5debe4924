package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/viper"
	"go.uber.org/zap"

	"github.com/conductorone/baton-trayai/internal/outcome"
	"github.com/conductorone/baton-trayai/internal/scratch"
)

// launch runs what this process is for. The SDK's connector process and
// the worker of a one-shot run run the SDK's command in the run directory
// their parent made. The process a user (or Kubernetes) started claims
// the run directory, then runs service mode itself or supervises a one-shot
// worker that owns nothing but the exit status.
func launch(ctx context.Context) int {
	if slices.Contains(os.Args[1:], "_connector-service") {
		return run(ctx)
	}
	if os.Getenv(outcome.EnvFile) != "" {
		// The worker holds the run directory too, so that it stays in use
		// if the supervisor dies first.
		if dir, err := scratch.Join(os.Getenv(scratch.EnvDir)); err == nil {
			defer func() { _ = dir.Release() }()
		}
		return run(ctx)
	}
	v, err := peek(ctx)
	if err != nil {
		// The SDK's own command reports a broken configuration best.
		return run(ctx)
	}
	log := startupLogger(v)
	dir, err := claimRunDir(v, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		return int(codeInvalidArgument)
	}
	defer func() { _ = dir.Release() }()
	if setting(v, "client-id") != "" {
		return serve(ctx, v, dir, log)
	}
	if code, supervised := outcome.Supervise(ctx); supervised {
		return code
	}
	return run(ctx)
}

// codeInvalidArgument is the exit code of a configuration that cannot work.
const codeInvalidArgument = 3

// claimRunDir makes this run's directory for temporary data under the
// temporary directory the operator chose (--c1z-temp-dir, else TMPDIR),
// removes what earlier runs that were killed left there, and points the SDK
// and every process of the run at it.
func claimRunDir(v *viper.Viper, log *zap.Logger) (*scratch.Dir, error) {
	root := setting(v, "c1z-temp-dir")
	if root == "" {
		root = os.TempDir()
	}
	dir, swept, err := scratch.Claim(root)
	if err != nil {
		return nil, fmt.Errorf("baton-trayai: %w: set --c1z-temp-dir (BATON_C1Z_TEMP_DIR) or TMPDIR to a writable directory", err)
	}
	if len(swept) > 0 {
		log.Info("baton-trayai: removed the temporary data of runs that were stopped before they could clean up",
			zap.Strings("directories", swept))
	}
	for _, k := range []string{"TMPDIR", "BATON_TMPDIR", "BATON_C1Z_TEMP_DIR", scratch.EnvDir} {
		_ = os.Setenv(k, dir.Path())
	}
	// A flag outranks the environment: the worker and the SDK's connector
	// process are started with these arguments.
	os.Args = withFlag(os.Args, "c1z-temp-dir", dir.Path())
	return dir, nil
}

// peek reads the configuration the way the SDK will (environment, then
// the config file), before the SDK parses any flag; setting adds flags.
func peek(ctx context.Context) (*viper.Viper, error) {
	r := &runner{}
	v, _, err := defineCommand(ctx, r)
	return v, err
}

// setting is the value of a setting from a flag, the environment or the
// config file, in the SDK's order of precedence.
func setting(v *viper.Viper, name string) string {
	if value, ok := flagValue(os.Args[1:], name); ok {
		return value
	}
	return v.GetString(name)
}

// flagValue finds --name value or --name=value among args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == "--" {
			break
		}
		if value, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return value, true
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// withFlag returns args with the value of --name, where it is given,
// replaced by value.
func withFlag(args []string, name, value string) []string {
	out := slices.Clone(args)
	for i := 1; i < len(out); i++ {
		switch {
		case out[i] == "--":
			return out
		case out[i] == "--"+name && i+1 < len(out):
			out[i+1] = value
		case strings.HasPrefix(out[i], "--"+name+"="):
			out[i] = "--" + name + "=" + value
		}
	}
	return out
}

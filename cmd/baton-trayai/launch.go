package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/conductorone/baton-sdk/pkg/field"
	"github.com/conductorone/baton-sdk/pkg/tempdir"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

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
	v, cmd, err := defineCommand(ctx, &runner{})
	if err != nil || informational(cmd, os.Args[1:]) {
		// The SDK's own command reports a broken configuration best, and a
		// command that only prints needs no run directory or supervisor.
		return run(ctx)
	}
	log := startupLogger(v)
	dir, err := claimRunDir(v, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		return int(codes.InvalidArgument)
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

// informational reports a command that is no task: help, the version, or
// any subcommand (capabilities, config, completion, health-check…). Only
// the root command syncs, provisions or serves; the others write no
// temporary data (so they must not fail on an unwritable TMPDIR, nor sweep
// other runs'), have no exit status a supervisor must own, and must not
// take service mode's ports (health-check runs beside the service).
func informational(cmd *cobra.Command, args []string) bool {
	if slices.ContainsFunc(args, func(a string) bool { return a == "--help" || a == "-h" || a == "--version" }) {
		return true
	}
	sub, _, err := cmd.Find(args)
	return err == nil && sub != cmd
}

// claimRunDir makes this run's directory for temporary data under the
// temporary directory the operator chose (--c1z-temp-dir, else BATON_TMPDIR, else TMPDIR: the SDK's order),
// removes what earlier runs that were killed left there, and points the SDK
// and every process of the run at it.
func claimRunDir(v *viper.Viper, log *zap.Logger) (*scratch.Dir, error) {
	root := tempdir.Resolve(setting(v, "c1z-temp-dir"))
	dir, swept, err := scratch.Claim(root)
	if err != nil {
		return nil, fmt.Errorf("baton-trayai: %w: set --c1z-temp-dir (BATON_C1Z_TEMP_DIR), BATON_TMPDIR or TMPDIR to a writable directory", err)
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

// setting is the value of a setting from a flag, the environment or the
// config file, in the SDK's order of precedence, else the SDK's default
// (viper holds no defaults before the SDK parses the flags).
func setting(v *viper.Viper, name string) string {
	if value, ok := flagValue(os.Args[1:], name); ok {
		return value
	}
	if value := v.GetString(name); value != "" {
		return value
	}
	for _, f := range field.DefaultFields {
		if f.FieldName == name && f.DefaultValue != nil {
			return fmt.Sprint(f.DefaultValue)
		}
	}
	return ""
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
		if a == "--"+name {
			// A boolean flag may stand alone.
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				return args[i+1], true
			}
			return "true", true
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

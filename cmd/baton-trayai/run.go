package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/conductorone/baton-sdk/pkg/cli"
	sdkconfig "github.com/conductorone/baton-sdk/pkg/config"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/connectorrunner"
	"github.com/conductorone/baton-sdk/pkg/types"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"github.com/spf13/viper"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/internal/outcome"
	"github.com/conductorone/baton-trayai/pkg/config"
	"github.com/conductorone/baton-trayai/pkg/connector"
)

// run is the SDK's config.RunConnector, returning the exit code instead of
// exiting with it, so that the journal records it first.
func run(ctx context.Context) int {
	r := &runner{journal: outcome.Open(), serving: slices.Contains(os.Args[1:], "_connector-service")}
	v, cmd, err := sdkconfig.DefineConfigurationV2(ctx, "baton-trayai", r.connector, config.Config,
		// `capabilities` and `config` work without a token or network.
		connectorrunner.WithDefaultCapabilitiesConnectorBuilderV2(&connector.Connector{}))
	if err == nil {
		r.v = v
		cmd.Version = versionString()
		err = cmd.Execute()
	}
	code := outcome.Code(err)
	r.journal.Exit(code)
	if err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
	}
	return code
}

type runner struct {
	v       *viper.Viper
	journal *outcome.Journal
	// serving is true in the SDK's connector process (`_connector-service`).
	serving bool
}

// connector builds the connector server. The SDK calls it in the command's
// process, where the task is checked before anything starts, and in the
// connector process it starts, whose calls are journaled.
func (r *runner) connector(ctx context.Context, cfg *config.Trayai, rt cli.RunTimeOpts) (types.ConnectorServer, error) {
	s, err := connector.ParseSettings(cfg)
	if err != nil {
		return nil, err
	}
	s.Version = version
	cb, err := connector.NewWithSettings(ctx, s, &cli.ConnectorOpts{
		TokenSource:         rt.TokenSource,
		SelectedAuthMethod:  rt.SelectedAuthMethod,
		SyncResourceTypeIDs: rt.SyncResourceTypeIDs,
		EgressPolicy:        rt.EgressPolicy,
	})
	if err != nil {
		return nil, err
	}
	kind, c1z := r.task()
	if !r.serving {
		if kind == outcome.TaskSync {
			if err := checkWritable(c1z); err != nil {
				return nil, err
			}
		}
		r.journal.Task(kind, c1z, outcome.ModTime(c1z))
		if (kind == outcome.TaskProvision || r.v.GetBool("provisioning")) && strings.TrimSpace(cfg.ConnectorAccount) == "" {
			ctxzap.Extract(ctx).Warn("baton-trayai: provisioning is enabled but --connector-account (BATON_CONNECTOR_ACCOUNT) is not set: " +
				"name the Tray.ai API user the connector runs as, by email or id, so that no grant, revoke or deletion can lock the connector out of Tray.ai")
		}
	}
	srv, err := connectorbuilder.NewConnector(ctx, cb, connectorbuilder.WithSessionStore(rt.SessionStore))
	if err != nil {
		return nil, err
	}
	if r.serving && kind != outcome.TaskService {
		srv = outcome.JournalServer(srv, r.journal)
	}
	return srv, nil
}

// task tells, from the SDK's own flags, what this run does and, for a
// sync, which c1z file it writes.
func (r *runner) task() (string, string) {
	v := r.v
	set := func(keys ...string) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return v.GetString(k) != "" && v.GetString(k) != "false" })
	}
	switch {
	case v.GetString("client-id") != "":
		return outcome.TaskService, ""
	case set("grant-entitlement", "revoke-grant", "create-account-profile", "create-account-login", "create-account-email",
		"delete-resource", "rotate-credentials"):
		return outcome.TaskProvision, ""
	case set("event-feed", "invoke-action", "list-action-schemas", "create-ticket", "bulk-create-ticket", "list-ticket-schemas",
		"get-ticket", "diff-syncs", "compact-syncs"):
		return outcome.TaskOther, ""
	default:
		path, err := filepath.Abs(v.GetString("file"))
		if err != nil {
			path = v.GetString("file")
		}
		return outcome.TaskSync, path
	}
}

// checkWritable fails a sync before any request when its c1z cannot be
// written: the SDK would find out only after the whole sync.
func checkWritable(path string) error {
	fail := func(why string, args ...any) error {
		return status.Errorf(codes.InvalidArgument, "baton-trayai: -f %s: "+why+": choose a writable c1z path with -f (BATON_FILE)", append([]any{path}, args...)...)
	}
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fail("not a regular file")
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fail("cannot write the file (%v)", err)
		}
		_ = f.Close()
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fail("the directory %s does not exist", dir)
	}
	// The SDK writes the c1z next to its final path and renames it.
	probe, err := os.CreateTemp(dir, ".baton-trayai-write-check-*")
	if err != nil {
		return fail("cannot create files in %s (%v)", dir, err)
	}
	_ = probe.Close()
	return os.Remove(probe.Name())
}

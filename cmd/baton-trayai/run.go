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
	"github.com/conductorone/baton-sdk/pkg/dotc1z"
	"github.com/conductorone/baton-sdk/pkg/dotc1z/c1zstore"
	"github.com/conductorone/baton-sdk/pkg/field"
	"github.com/conductorone/baton-sdk/pkg/types"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/internal/outcome"
	"github.com/conductorone/baton-trayai/pkg/config"
	"github.com/conductorone/baton-trayai/pkg/connector"
)

// run is the SDK's config.RunConnector, returning the exit code instead of
// exiting with it, so that the journal records it first.
func run(ctx context.Context) int {
	journal := outcome.Open()
	serving := slices.Contains(os.Args[1:], "_connector-service")
	code, err := execute(ctx, journal, serving)
	if err != nil {
		// One line that says what went wrong and what to do; the exit
		// status carries the code. It comes before the exit is journaled:
		// the supervisor says it instead when the SDK's watcher ends this
		// process before it can.
		fmt.Fprintln(os.Stderr, outcome.Explain(status.Convert(err).Message()))
	}
	if !serving {
		// The run's exit is the worker's; the connector process journals
		// only its calls.
		journal.Exit(code)
	}
	return code
}

// execute runs the SDK's command once and returns its exit code and error.
// journal (nil when the process is not supervised) records what the
// command does; serving is true in the SDK's connector process.
func execute(ctx context.Context, journal *outcome.Journal, serving bool) (int, error) {
	tuneExpansion()
	r := &runner{journal: journal, serving: serving}
	v, cmd, err := defineCommand(ctx, r)
	if err == nil {
		r.v = v
		cmd.Version = versionString()
		err = cmd.Execute()
	}
	return outcome.Code(err), err
}

// defineCommand builds the SDK's command around r.connector.
func defineCommand(ctx context.Context, r *runner) (*viper.Viper, *cobra.Command, error) {
	describeStorageDefault()
	return sdkconfig.DefineConfigurationV2(ctx, "baton-trayai", r.connector, config.Config,
		// `capabilities` and `config` work without a token or network.
		connectorrunner.WithDefaultCapabilitiesConnectorBuilderV2(&connector.Connector{}),
		// SQLite unless --storage-engine says otherwise: it keeps the full
		// sync when a targeted sync is added to a c1z, and a sync needs a
		// fraction of pebble's memory (docs/performance.md).
		connectorrunner.WithStorageEngine(DefaultStorageEngine))
}

// DefaultStorageEngine is the c1z storage engine of a run that names none.
const DefaultStorageEngine = c1zstore.EngineSQLite

// describeStorageDefault makes --help tell this connector's default
// engine rather than the SDK's.
func describeStorageDefault() {
	for i, f := range field.DefaultFields {
		if f.FieldName == field.StorageEngineField.FieldName {
			field.DefaultFields[i].Description = "The storage engine of a new sync c1z file: sqlite or pebble. " +
				"Defaults to sqlite, which keeps a full sync beside a targeted one; an existing file keeps its engine."
		}
	}
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
		if err := r.prepare(ctx, kind, c1z, cfg); err != nil {
			return nil, err
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

// prepare readies the command's process for the task before anything
// starts: a sync's c1z is checked, and kept aside when pebble would lose
// it on a failure; the task is journaled for the supervisor; provisioning
// without the connector's own account is warned about.
func (r *runner) prepare(ctx context.Context, kind, c1z string, cfg *config.Trayai) error {
	if kind == outcome.TaskSync {
		if err := checkWritable(c1z); err != nil {
			return err
		}
		if err := checkKeepsFullSync(c1z, r.v.GetStringSlice("sync-resources")); err != nil {
			return err
		}
		if r.journal != nil && isPebble(c1z) {
			// Put back by the supervisor if the sync fails.
			if err := outcome.KeepPrevious(c1z); err != nil {
				ctxzap.Extract(ctx).Warn("baton-trayai: could not keep the previous c1z aside; a failed sync would leave it with the unfinished sync", zap.Error(err))
			}
		}
	}
	r.journal.Task(kind, c1z, outcome.ModTime(c1z))
	if (kind == outcome.TaskProvision || r.v.GetBool("provisioning")) && strings.TrimSpace(cfg.ConnectorAccount) == "" {
		ctxzap.Extract(ctx).Warn("baton-trayai: provisioning is enabled but --connector-account (BATON_CONNECTOR_ACCOUNT) is not set: " +
			"name the Tray.ai API user the connector runs as, by email or id, so that no grant, revoke or deletion can lock the connector out of Tray.ai")
	}
	return nil
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

// checkKeepsFullSync refuses, before anything is written, a targeted sync
// into a pebble c1z: pebble holds one sync, so the SDK would replace the
// file's full sync with the partial one. A c1z keeps its engine whatever
// --storage-engine says, so only a new file can be SQLite.
func checkKeepsFullSync(path string, targets []string) error {
	if len(targets) == 0 {
		return nil
	}
	if !isPebble(path) {
		return nil // SQLite, or no file yet: the targeted sync is its first sync
	}
	return status.Errorf(codes.FailedPrecondition,
		"baton-trayai: -f %s is a pebble c1z, which holds one sync, so a targeted sync would erase its full sync: "+
			"write the targeted sync to another file with -f, or move this one away and run a full sync (new files are SQLite, which keeps both)", path)
}

// isPebble reports whether path is a c1z of the pebble engine.
func isPebble(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	format, err := dotc1z.ReadHeaderFormat(f)
	return err == nil && format == dotc1z.C1ZFormatV3
}

// Command servicedemo shows service mode without ConductorOne: it runs the
// baton-trayai binary against a ConductorOne stand-in and a simulated
// Tray.ai organization, hands it a sync and a grant as ConductorOne would,
// and prints what the stand-in received. `make demo-service` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-trayai/internal/c1sim"
	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/traysim"
)

func main() {
	binary := flag.String("binary", "dist/demo/bin/baton-trayai", "the baton-trayai binary to run in service mode")
	out := flag.String("out", "dist/demo/service", "where the uploaded c1z and the service's log go")
	flag.Parse()
	if err := run(*binary, *out); err != nil {
		fmt.Fprintln(os.Stderr, "servicedemo:", err)
		os.Exit(1)
	}
}

func run(binary, out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := os.MkdirAll(out, 0o750); err != nil {
		return err
	}
	tray := traysim.NewDefault(traysim.ShapeFull)
	trayURL, stopTray := traysim.Listen(tray)
	defer stopTray()
	c1, err := c1sim.Start(c1sim.Options{PollInterval: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer c1.Close()

	logPath := filepath.Join(out, "service.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	tmp, err := os.MkdirTemp("", "servicedemo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd, err := startService(ctx, binary, trayURL, c1, tmp, logFile)
	if err != nil {
		return err
	}
	// Every wait below ends when the service exits, and the service is
	// stopped (SIGTERM) before the stand-in and its TMPDIR go, whatever
	// ends the demo.
	exited := make(chan struct{})
	ctx, stopWaits := context.WithCancel(ctx)
	defer stopWaits()
	go func() { _ = cmd.Wait(); stopWaits(); close(exited) }()
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); <-exited }()
	if err := awaitHello(ctx, c1, logPath); err != nil {
		return err
	}
	got, err := demoSync(ctx, c1, out, tmp)
	if err != nil {
		return err
	}
	if err := demoGrant(ctx, c1, tray, got); err != nil {
		return err
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	sayf("==> Stopped the service with SIGTERM (%v); its log is %s\n", cmd.ProcessState, logPath)
	return nil
}

// startService starts the binary in service mode against the stand-in and
// the simulated organization, with provisioning on for the grant task.
func startService(ctx context.Context, binary, trayURL string, c1 *c1sim.Server, tmp string, log *os.File) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, binary, "--base-url", trayURL)
	cmd.Env = append(append(os.Environ(), c1.Env()...), "BATON_AUTH_TOKEN="+traysim.AdminToken, "BATON_PROVISIONING=true",
		"BATON_HOST_ID=servicedemo", "BATON_LOG_FORMAT=json", "TMPDIR="+tmp)
	cmd.Stdout, cmd.Stderr = log, log
	sayf("==> ConductorOne stand-in at %s; starting baton-trayai in service mode (client id %s)\n", c1.URL(), c1.ClientID())
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// awaitHello waits for the connector's Hello and shows what it announced.
func awaitHello(ctx context.Context, c1 *c1sim.Server, logPath string) error {
	hello, err := c1.WaitHello(ctx, 1)
	if err != nil {
		return fmt.Errorf("no Hello from the connector (see %s): %w", logPath, err)
	}
	sayf("    Hello from host %q: %s, capabilities %s\n", hello.HostID, hello.ConnectorMetadata.GetDisplayName(),
		capabilityNames(hello.Capabilities.GetConnectorCapabilities()))
	return nil
}

// demoSync hands out a full sync task, keeps the c1z it uploads in out and
// returns what it holds.
func demoSync(ctx context.Context, c1 *c1sim.Server, out, tmp string) (harness.Contents, error) {
	sayln("==> ConductorOne hands out a full sync task (skip_expand_grants, as ConductorOne sends it)")
	sync := c1.EnqueueFullSync(c1sim.FullSync{SkipExpandGrants: true})
	if err := finished(ctx, c1, sync); err != nil {
		return harness.Contents{}, err
	}
	ups := c1.Uploads(sync)
	if len(ups) == 0 {
		return harness.Contents{}, errors.New("the sync task uploaded nothing")
	}
	uploaded := filepath.Join(out, "uploaded.c1z")
	if err := copyFile(ups[0].Path, uploaded); err != nil {
		return harness.Contents{}, err
	}
	sayf("    received a c1z of %d bytes in %d chunk(s), sha256 verified: %s\n", ups[0].Size, ups[0].Chunks, uploaded)
	return harness.Read(ctx, uploaded, tmp)
}

// demoGrant hands out a grant task for a role and a user the synced c1z
// holds, as ConductorOne only grants what it has seen, and shows the
// organization's membership afterwards.
func demoGrant(ctx context.Context, c1 *c1sim.Server, tray *traysim.Server, got harness.Contents) error {
	sn := tray.Snapshot()
	ws := sn.WorkspacesOfType("Shared")[0]
	role := ws.RoleByName("Contributor")
	user := viewerOutside(sn, ws)
	ent, principal := got.Entitlements["workspace:"+ws.ID+":"+role.ID], got.Resources["user/"+user.ID]
	if ent == nil || principal == nil {
		return errors.New("the uploaded c1z lacks the workspace role or the user")
	}
	sayf("==> ConductorOne hands out a grant task: %s to %s\n", ent.GetDisplayName(), principal.GetDisplayName())
	if err := finished(ctx, c1, c1.EnqueueGrant(ent, principal)); err != nil {
		return err
	}
	now := tray.Snapshot().Members[ws.ID][user.ID]
	sayf("    Tray.ai now lists %s in workspace %s with role %s\n", user.Email, ws.Name, roleName(ws, now))
	return nil
}

// viewerOutside is a regular user with the organization's Viewer role who
// is not a member of ws, so that the grant visibly changes something; the
// zero User if there is none.
func viewerOutside(sn traysim.Snapshot, ws traysim.Workspace) traysim.User {
	for _, u := range sn.Users {
		if _, member := sn.Members[ws.ID][u.ID]; !member && u.AccountType == "Regular" && sn.OrgRoleName(u.OrgRoleID) == "Viewer" {
			return u
		}
	}
	return traysim.User{}
}

func finished(ctx context.Context, c1 *c1sim.Server, id string) error {
	f, err := c1.WaitFinished(ctx, id)
	if err != nil {
		return err
	}
	if !f.Success {
		return fmt.Errorf("task %s failed: %w", id, f.Err())
	}
	sayf("    FinishTask: success (task %s)\n", id)
	return nil
}

func capabilityNames(caps []v2.Capability) string {
	names := make([]string, 0, len(caps))
	for _, c := range caps {
		names = append(names, strings.TrimPrefix(c.String(), "CAPABILITY_"))
	}
	return strings.Join(names, ", ")
}

func roleName(ws traysim.Workspace, id string) string {
	for _, r := range ws.Roles {
		if r.ID == id {
			return r.Name
		}
	}
	return "none"
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// sayf prints one line of the demo's narration on standard output.
func sayf(format string, args ...any) {
	_, _ = fmt.Fprintf(os.Stdout, format, args...)
}

// sayln prints a fixed line of the demo's narration on standard output.
func sayln(line string) {
	_, _ = fmt.Fprintln(os.Stdout, line)
}

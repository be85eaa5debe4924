package main

import (
	"context"
	"fmt"
	"os"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	reader_v2 "github.com/conductorone/baton-sdk/pb/c1/reader/v2"
	"github.com/conductorone/baton-sdk/pkg/sync/expand"
)

// unsortedStore is an expansion store like SQLite's, not sorted by
// principal, so the SDK expands it step by step. Planning the steps reads
// nothing from it.
type unsortedStore struct{}

func (unsortedStore) GetEntitlement(context.Context, *reader_v2.EntitlementsReaderServiceGetEntitlementRequest) (*reader_v2.EntitlementsReaderServiceGetEntitlementResponse, error) {
	panic("not read while planning")
}

func (unsortedStore) ListGrantsForEntitlement(context.Context, *reader_v2.GrantsReaderServiceListGrantsForEntitlementRequest) (*reader_v2.GrantsReaderServiceListGrantsForEntitlementResponse, error) {
	panic("not read while planning")
}

func (unsortedStore) StoreExpandedGrants(context.Context, ...*v2.Grant) error {
	panic("not written while planning")
}

func (unsortedStore) GrantsForEntitlementPrincipalSorted() bool { return false }

// plannedFanOuts plans the SDK's expansion of one source entitlement to
// eight destinations, as the implicit Admin grants make an organization
// role's assigned entitlement the source of every workspace's Admin role,
// and returns how many destinations each step fans out to.
func plannedFanOuts(t *testing.T) []int {
	t.Helper()
	ctx := context.Background()
	g := expand.NewEntitlementGraph(ctx)
	src := "role:org-admin:assigned"
	g.AddEntitlementID(src)
	for i := range 8 {
		dst := fmt.Sprintf("workspace:ws-%d:role:admin", i)
		g.AddEntitlementID(dst)
		if err := g.AddEdge(ctx, src, dst, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := expand.NewExpander(unsortedStore{}, g).RunSingleStep(ctx); err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, a := range g.Actions {
		out = append(out, len(a.Descendants))
	}
	return out
}

// unsetExpandDestBatch leaves the setting unset for the test, as in an
// operator's environment that does not name it; t.Setenv puts the
// original back.
func unsetExpandDestBatch(t *testing.T) {
	t.Helper()
	t.Setenv(EnvExpandDestBatch, "")
	if err := os.Unsetenv(EnvExpandDestBatch); err != nil {
		t.Fatal(err)
	}
}

// The implicit Admin grants cost the syncer no more memory than a sync
// without them only if each step of the expansion fans out to one
// workspace (ExpandDestBatch); this fails if the setting is dropped or the
// SDK stops reading it.
func TestExpansionFansOutToOneWorkspaceAStep(t *testing.T) {
	unsetExpandDestBatch(t)
	tuneExpansion()
	if got := os.Getenv(EnvExpandDestBatch); got != "1" {
		t.Fatalf("%s = %q after tuneExpansion, want 1", EnvExpandDestBatch, got)
	}
	fanOuts := plannedFanOuts(t)
	if len(fanOuts) != 8 {
		t.Fatalf("the SDK planned %d steps with fan-outs %v, want 8 steps of one destination: does it still read %s?", len(fanOuts), fanOuts, EnvExpandDestBatch)
	}
	for _, n := range fanOuts {
		if n != ExpandDestBatch {
			t.Fatalf("fan-outs %v, want %d each", fanOuts, ExpandDestBatch)
		}
	}
}

// An operator's own setting wins.
func TestAnOperatorsExpansionFanOutWins(t *testing.T) {
	t.Setenv(EnvExpandDestBatch, "8")
	tuneExpansion()
	if got := os.Getenv(EnvExpandDestBatch); got != "8" {
		t.Fatalf("%s = %q after tuneExpansion, want the operator's 8", EnvExpandDestBatch, got)
	}
	if fanOuts := plannedFanOuts(t); len(fanOuts) != 1 || fanOuts[0] != 8 {
		t.Fatalf("fan-outs %v, want the operator's one step of 8", fanOuts)
	}
}

// Every run of the SDK's command, one-shot worker, service or connector
// process, gets the setting.
func TestEveryRunOfTheCommandSetsTheExpansionFanOut(t *testing.T) {
	unsetExpandDestBatch(t)
	args := os.Args
	t.Cleanup(func() { os.Args = args })
	os.Args = []string{"baton-trayai", "--version"}
	if code, err := execute(context.Background(), nil, false); code != 0 || err != nil {
		t.Fatalf("baton-trayai --version: exit %d, %v", code, err)
	}
	if got := os.Getenv(EnvExpandDestBatch); got != "1" {
		t.Fatalf("%s = %q after a run of the command, want 1", EnvExpandDestBatch, got)
	}
}

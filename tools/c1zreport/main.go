// Command c1zreport prints a readable summary of a baton-trayai c1z: counts
// per resource type and who holds which organization and workspace role.
// The demo uses it; `go tool -modfile=tools/baton/go.mod baton` remains the general-purpose reader.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	"github.com/conductorone/baton-trayai/internal/harness"
)

func main() {
	path := flag.String("f", "sync.c1z", "c1z file to summarize")
	maxNames := flag.Int("names", 4, "names shown per role before '+N more'")
	flag.Parse()
	if err := run(*path, *maxNames); err != nil {
		fmt.Fprintln(os.Stderr, "c1zreport:", err)
		os.Exit(1)
	}
}

func run(path string, maxNames int) error {
	tmp, err := os.MkdirTemp("", "c1zreport")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	got, err := harness.Read(context.Background(), path, tmp)
	if err != nil {
		return err
	}
	report(os.Stdout, got, maxNames)
	return nil
}

func report(w io.Writer, got harness.Contents, maxNames int) {
	byType := map[string]int{}
	humans, services := 0, 0
	for _, r := range got.Resources {
		byType[r.GetId().GetResourceType()]++
		if t, err := rs.GetUserTrait(r); err == nil {
			if t.GetAccountType() == v2.UserTrait_ACCOUNT_TYPE_HUMAN {
				humans++
			} else {
				services++
			}
		}
	}
	fmt.Fprintf(w, "Synced %d users (%d people, %d API/service accounts), %d organization roles, %d workspaces; %d entitlements, %d grants.\n",
		byType["user"], humans, services, byType["role"], byType["workspace"], len(got.Entitlements), len(got.Grants))

	// holders[entitlement id] = principal display names
	holders := map[string][]string{}
	for _, g := range got.Grants {
		p := got.Resources[g.GetPrincipal().GetId().GetResourceType()+"/"+g.GetPrincipal().GetId().GetResource()]
		holders[g.GetEntitlement().GetId()] = append(holders[g.GetEntitlement().GetId()], p.GetDisplayName())
	}
	names := func(entID string) string {
		n := holders[entID]
		sort.Strings(n)
		if len(n) > maxNames {
			return fmt.Sprintf("%s, +%d more", strings.Join(n[:maxNames], ", "), len(n)-maxNames)
		}
		if len(n) == 0 {
			return "-"
		}
		return strings.Join(n, ", ")
	}

	fmt.Fprintln(w, "\nOrganization roles")
	for _, key := range sortedByName(got, "role") {
		r := got.Resources[key]
		ent := "role:" + r.GetId().GetResource() + ":assigned"
		fmt.Fprintf(w, "  %-12s %3d  %s\n", r.GetDisplayName(), len(holders[ent]), names(ent))
	}

	fmt.Fprintln(w, "\nWorkspaces")
	for _, key := range sortedByName(got, "workspace") {
		ws := got.Resources[key]
		typ, _ := rs.GetProfileStringValue(rs.GetProfile(ws), "type")
		member := "workspace:" + ws.GetId().GetResource() + ":member"
		fmt.Fprintf(w, "  %s (%s): %d members\n", ws.GetDisplayName(), typ, len(holders[member]))
		var roleEnts []*v2.Entitlement
		for _, e := range got.Entitlements {
			if e.GetResource().GetId().GetResource() == ws.GetId().GetResource() && e.GetId() != member {
				roleEnts = append(roleEnts, e)
			}
		}
		sort.Slice(roleEnts, func(i, j int) bool { return roleEnts[i].GetSlug() < roleEnts[j].GetSlug() })
		for _, e := range roleEnts {
			// A workspace role's slug is its name.
			fmt.Fprintf(w, "      %-12s %3d  %s\n", e.GetSlug(), len(holders[e.GetId()]), names(e.GetId()))
		}
	}
}

func sortedByName(got harness.Contents, typ string) []string {
	var keys []string
	for k, r := range got.Resources {
		if r.GetId().GetResourceType() == typ {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return got.Resources[keys[i]].GetDisplayName() < got.Resources[keys[j]].GetDisplayName()
	})
	return keys
}

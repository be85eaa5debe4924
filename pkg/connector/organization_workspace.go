package connector

import (
	"context"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"go.uber.org/zap"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// The Organization workspace: one per organization, and every user of the
// organization is in it, governed by their organization role. It has
// only the `member` entitlement, and its members' grants come from the
// roster (roster.go); Tray.ai's workspace-member endpoints are not used
// for it.

// orgWorkspace is the Organization workspace as a sync knows it.
type orgWorkspace struct {
	id   string
	name string
	// found is false when the token sees no Organization workspace.
	found bool
}

// findOrganizationWorkspace returns the Organization workspace, from the
// sync's state (the workspace listing records it) or, when the sync has
// not listed workspaces (a targeted sync of a user), by listing them.
func findOrganizationWorkspace(ctx context.Context, cl *client.Client, st *syncState) (orgWorkspace, error) {
	if o, ok := st.organizationWorkspace(); ok {
		return o, nil
	}
	cursor := ""
	for {
		page, err := cl.ListWorkspaces(ctx, cursor)
		if err != nil {
			return orgWorkspace{}, wrapf(err, "find the Organization workspace")
		}
		for _, w := range page.Elements {
			if w.Type == client.WorkspaceTypeOrganization {
				o := orgWorkspace{id: w.ID, name: w.Name, found: true}
				st.keepOrganizationWorkspace(o)
				return o, nil
			}
		}
		if cursor = page.NextCursor(); cursor == "" {
			logger(ctx).Debug("the token sees no Organization workspace", zap.String("sync_id", st.id))
			st.keepOrganizationWorkspace(orgWorkspace{})
			return orgWorkspace{}, nil
		}
	}
}

// organizationMembers emits the Organization workspace's members when the
// user syncer does not (see roster.go): in a targeted sync of this
// workspace, or a sync resumed after a restart, from users listed here.
// A sync without users emits none: their principals would not exist.
func (w *workspaceSyncer) organizationMembers(ctx context.Context, st *syncState, res *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, string, error) {
	if opts.PageToken.Token == "" && (st.listedAllUsers() || !w.usersSynced) {
		return nil, "", nil
	}
	entries, next, err := rosterPage(ctx, w.client, st, opts.PageToken.Token)
	if err != nil {
		return nil, "", err
	}
	out := make([]*v2.Grant, 0, len(entries))
	for _, e := range entries {
		out = append(out, organizationMemberGrant(res.GetId().GetResource(), userResourceID(e.userID)))
	}
	return out, next, nil
}

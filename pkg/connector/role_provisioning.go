package connector

import (
	"context"
	"fmt"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Grant sets the user's organization role. A Tray user has exactly one, so
// the previous role's grant is reported as replaced.
func (r *roleSyncer) Grant(ctx context.Context, principal *v2.Resource, e *v2.Entitlement) ([]*v2.Grant, annotations.Annotations, error) {
	userID, err := userPrincipal(principal.GetId())
	if err != nil {
		return nil, nil, err
	}
	if e.GetResource().GetId().GetResourceType() != roleTypeID {
		return nil, nil, status.Errorf(codes.InvalidArgument, "baton-trayai: entitlement %s is not an organization role", e.GetId())
	}
	roles, err := r.c.allOrgRoles(ctx)
	if err != nil {
		return nil, nil, err
	}
	target, err := findRole(roles, e.GetResource().GetId().GetResource())
	if err != nil {
		return nil, nil, status.Errorf(codes.NotFound, "baton-trayai: organization role %s no longer exists in Tray.ai; run a sync", e.GetResource().GetId().GetResource())
	}
	user, err := r.c.freshUser(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	granted := []*v2.Grant{orgRoleGrant(target.ID, principal.GetId())}
	if user.Role != nil && user.Role.ID == target.ID {
		return granted, annotations.New(&v2.GrantAlreadyExists{}), nil
	}
	if isOwner(user.Role) {
		return nil, nil, ownerError(user)
	}
	if strings.EqualFold(target.Name, "Owner") {
		return nil, nil, status.Error(codes.FailedPrecondition,
			"baton-trayai: the Owner role cannot be granted: a Tray.ai organization has exactly one Owner; transfer ownership in Tray.ai")
	}
	if err := r.c.client.SetUserOrgRole(ctx, userID, target.ID); err != nil {
		return nil, nil, fmt.Errorf("baton-trayai: set organization role of %s to %s: %w", userID, target.Name, err)
	}
	var annos annotations.Annotations
	if user.Role != nil && user.Role.ID != "" {
		old := orgRoleGrant(user.Role.ID, principal.GetId())
		annos = grant.AppendGrantReplaced(annos, old.GetId())
	}
	return granted, annos, nil
}

// Revoke moves the user to the fallback role (default Viewer): a Tray user
// cannot be without an organization role. Removing someone from the
// organization is account deletion.
func (r *roleSyncer) Revoke(ctx context.Context, g *v2.Grant) (annotations.Annotations, error) {
	userID, err := userPrincipal(g.GetPrincipal().GetId())
	if err != nil {
		return nil, err
	}
	roleID := g.GetEntitlement().GetResource().GetId().GetResource()
	user, err := r.c.client.GetUser(ctx, userID)
	switch {
	case isNotFound(err):
		return annotations.New(&v2.GrantAlreadyRevoked{}), nil
	case err != nil:
		return nil, fmt.Errorf("baton-trayai: get user %s: %w", userID, err)
	}
	if user.Role == nil || user.Role.ID != roleID {
		return annotations.New(&v2.GrantAlreadyRevoked{}), nil
	}
	if isOwner(user.Role) {
		return nil, ownerError(user)
	}
	roles, err := r.c.allOrgRoles(ctx)
	if err != nil {
		return nil, err
	}
	fallback, err := findRole(roles, r.c.settings.FallbackOrgRole)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition,
			"baton-trayai: --fallback-org-role %q is not an organization role (roles: %s): set it to one of them", r.c.settings.FallbackOrgRole, roleNames(roles))
	}
	if fallback.ID == roleID {
		return nil, status.Errorf(codes.FailedPrecondition,
			"baton-trayai: %s is the fallback organization role and every Tray.ai user holds one role: grant %s another role instead, or delete the account",
			fallback.Name, displayUser(user))
	}
	if err := r.c.client.SetUserOrgRole(ctx, userID, fallback.ID); err != nil {
		return nil, fmt.Errorf("baton-trayai: move %s to organization role %s: %w", userID, fallback.Name, err)
	}
	return nil, nil
}

func (c *Connector) allOrgRoles(ctx context.Context) ([]client.Role, error) {
	roles, err := allPages(func(cursor string) (client.Page[client.Role], error) {
		return c.client.ListOrgRoles(ctx, cursor)
	})
	if err != nil {
		return nil, fmt.Errorf("baton-trayai: list organization roles: %w", err)
	}
	return roles, nil
}

// freshUser reads a user for a provisioning decision.
func (c *Connector) freshUser(ctx context.Context, userID string) (client.User, error) {
	u, err := c.client.GetUser(ctx, userID)
	if isNotFound(err) {
		return client.User{}, status.Errorf(codes.NotFound, "baton-trayai: user %s no longer exists in Tray.ai; run a sync", userID)
	}
	if err != nil {
		return client.User{}, fmt.Errorf("baton-trayai: get user %s: %w", userID, err)
	}
	return u, nil
}

func isOwner(r *client.Role) bool { return r != nil && strings.EqualFold(r.Name, "Owner") }

func ownerError(u client.User) error {
	return status.Errorf(codes.FailedPrecondition,
		"baton-trayai: %s is the organization Owner: the Owner's role cannot be changed through the API; transfer ownership in Tray.ai first", displayUser(u))
}

func displayUser(u client.User) string {
	switch {
	case u.Email != "":
		return u.Email
	case u.Name != "":
		return u.Name
	default:
		return u.ID
	}
}

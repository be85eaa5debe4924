package connector

import (
	"context"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Grant sets the user's organization role. A Tray user has exactly one, so
// the previous role's grant is reported as replaced.
func (r *roleSyncer) Grant(ctx context.Context, principal *v2.Resource, e *v2.Entitlement) ([]*v2.Grant, annotations.Annotations, error) {
	userID, err := grantedUser(principal, e, roleTypeID)
	if err != nil {
		return nil, nil, err
	}
	roles, err := r.c.allOrgRoles(ctx)
	if err != nil {
		return nil, nil, err
	}
	roleID := e.GetResource().GetId().GetResource()
	target, ok := findRole(roles, roleID)
	if !ok {
		return nil, nil, errorf(codes.NotFound, "organization role %s no longer exists in Tray.ai; run a sync", roleID)
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
	if isOwnerName(target.Name) {
		return nil, nil, errorf(codes.FailedPrecondition,
			"the Owner role cannot be granted: a Tray.ai organization has exactly one Owner; transfer ownership in Tray.ai")
	}
	if user.Role == nil || reduces(user.Role.Name, target.Name) {
		if err := r.c.guard(ctx, user, "change the organization role of "+displayUser(user)+" to "+target.Name); err != nil {
			return nil, nil, err
		}
	}
	if err := r.c.setOrgRole(ctx, userID, target); err != nil {
		return nil, nil, wrapf(err, "set organization role of %s to %s", userID, target.Name)
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
	if gone, err := absent(err, "get user %s", userID); gone || err != nil {
		return revokedIf(gone), err
	}
	if user.Role == nil || user.Role.ID != roleID {
		return alreadyRevoked(), nil
	}
	if isOwner(user.Role) {
		return nil, ownerError(user)
	}
	roles, err := r.c.allOrgRoles(ctx)
	if err != nil {
		return nil, err
	}
	fallback, ok := findRole(roles, r.c.settings.FallbackOrgRole)
	if !ok {
		return nil, errorf(codes.FailedPrecondition,
			"--fallback-org-role %q is not an organization role (roles: %s): set it to one of them", r.c.settings.FallbackOrgRole, roleNames(roles))
	}
	if fallback.ID == roleID {
		return nil, errorf(codes.FailedPrecondition,
			"%s is the fallback organization role and every Tray.ai user holds one role: grant %s another role instead, or delete the account",
			fallback.Name, displayUser(user))
	}
	if reduces(user.Role.Name, fallback.Name) {
		if err := r.c.guard(ctx, user, "revoke the "+user.Role.Name+" organization role of "+displayUser(user)); err != nil {
			return nil, err
		}
	}
	if err := r.c.setOrgRole(ctx, userID, fallback); err != nil {
		return nil, wrapf(err, "move %s to organization role %s", userID, fallback.Name)
	}
	return nil, nil
}

// setOrgRole sets a user's organization role, settling an unconfirmed
// answer by reading the user again.
func (c *Connector) setOrgRole(ctx context.Context, userID string, role client.Role) error {
	return settle(c.client.SetUserOrgRole(ctx, userID, role.ID), func() (bool, error) {
		u, err := c.client.GetUser(ctx, userID)
		return u.Role != nil && u.Role.ID == role.ID, err
	})
}

func ownerError(u client.User) error {
	return errorf(codes.FailedPrecondition,
		"%s is the organization Owner: the Owner's role cannot be changed through the API; transfer ownership in Tray.ai first", displayUser(u))
}

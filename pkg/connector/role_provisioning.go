package connector

import (
	"context"

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
	userID, err := grantedUser(principal, e, roleTypeID)
	if err != nil {
		return nil, nil, err
	}
	target, err := r.grantedRole(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	user, err := r.client.GetUser(ctx, userID)
	if status.Code(err) == codes.NotFound {
		return nil, nil, errorf(codes.NotFound, "user %s no longer exists in Tray.ai; run a sync", userID)
	}
	if err != nil {
		return nil, nil, wrapf(err, "get user %s", userID)
	}
	granted := []*v2.Grant{orgRoleGrant(target.ID, principal.GetId())}
	if user.Role != nil && user.Role.ID == target.ID {
		return granted, alreadyGranted(), nil
	}
	if isOwner(user.Role) {
		return nil, nil, ownerError(user)
	}
	if isOwnerName(target.Name) {
		return nil, nil, errorf(codes.FailedPrecondition,
			"the Owner role cannot be granted: a Tray.ai organization has exactly one Owner; transfer ownership in Tray.ai")
	}
	if user.Role == nil || reduces(user.Role.Name, target.Name) {
		if err := r.guard.check(ctx, user, "change the organization role of "+displayUser(user)+" to "+target.Name); err != nil {
			return nil, nil, err
		}
	}
	if err := r.setOrgRole(ctx, userID, target); err != nil {
		return nil, nil, wrapf(err, "set organization role of %s to %s", userID, target.Name)
	}
	var annos annotations.Annotations
	if user.Role != nil && user.Role.ID != "" {
		annos = grant.AppendGrantReplaced(annos, orgRoleGrant(user.Role.ID, principal.GetId()).GetId())
	}
	return granted, annos, nil
}

// grantedRole is the organization role an entitlement grants, as Tray.ai
// has it now.
func (r *roleSyncer) grantedRole(ctx context.Context, e *v2.Entitlement) (client.Role, error) {
	roles, err := allOrgRoles(ctx, r.client)
	if err != nil {
		return client.Role{}, err
	}
	roleID := e.GetResource().GetId().GetResource()
	role, ok := roleByID(roles, roleID)
	if !ok {
		return client.Role{}, errorf(codes.NotFound, "organization role %s no longer exists in Tray.ai; run a sync", roleID)
	}
	return role, nil
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
	user, err := r.client.GetUser(ctx, userID)
	if status.Code(err) == codes.NotFound {
		return alreadyRevoked(), nil
	}
	if err != nil {
		return nil, wrapf(err, "get user %s", userID)
	}
	if user.Role == nil || user.Role.ID != roleID {
		return alreadyRevoked(), nil
	}
	if isOwner(user.Role) {
		return nil, ownerError(user)
	}
	fallback, err := r.fallback(ctx, user, roleID)
	if err != nil {
		return nil, err
	}
	if reduces(user.Role.Name, fallback.Name) {
		if err := r.guard.check(ctx, user, "revoke the "+user.Role.Name+" organization role of "+displayUser(user)); err != nil {
			return nil, err
		}
	}
	if err := r.setOrgRole(ctx, userID, fallback); err != nil {
		return nil, wrapf(err, "move %s to organization role %s", userID, fallback.Name)
	}
	return nil, nil
}

// fallback is the role a revoke of user's role roleID moves them to: the
// --fallback-org-role, named by id or name, unless it is that very role.
func (r *roleSyncer) fallback(ctx context.Context, user client.User, roleID string) (client.Role, error) {
	roles, err := allOrgRoles(ctx, r.client)
	if err != nil {
		return client.Role{}, err
	}
	fallback, ok := roleByIDOrName(roles, r.fallbackOrgRole)
	if !ok {
		return client.Role{}, errorf(codes.FailedPrecondition,
			"--fallback-org-role %q is not an organization role (roles: %s): set it to one of them", r.fallbackOrgRole, roleNames(roles))
	}
	if fallback.ID == roleID {
		return client.Role{}, errorf(codes.FailedPrecondition,
			"%s is the fallback organization role and every Tray.ai user holds one role: grant %s another role instead, or delete the account",
			fallback.Name, displayUser(user))
	}
	return fallback, nil
}

// setOrgRole sets a user's organization role.
func (r *roleSyncer) setOrgRole(ctx context.Context, userID string, role client.Role) error {
	err := r.client.SetUserOrgRole(ctx, userID, role.ID)
	if client.IsUnconfirmed(err) {
		err = rereadUnconfirmed(err, func() (bool, error) {
			u, err := r.client.GetUser(ctx, userID)
			return u.Role != nil && u.Role.ID == role.ID, err
		})
	}
	return err
}

func ownerError(u client.User) error {
	return errorf(codes.FailedPrecondition,
		"%s is the organization Owner: the Owner's role cannot be changed through the API; transfer ownership in Tray.ai first", displayUser(u))
}

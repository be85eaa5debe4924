package connector

import (
	"context"
	"fmt"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	ent "github.com/conductorone/baton-sdk/pkg/types/entitlement"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// prefix starts every error the connector returns, once.
const prefix = "baton-trayai: "

// errorf is an error of the connector's own: one line with a gRPC code.
func errorf(code codes.Code, format string, args ...any) error {
	return status.Errorf(code, prefix+format, args...)
}

// wrapf reports a failed Tray.ai call as "baton-trayai: <what>: <the
// client's message>", keeping the client's gRPC code and details (the
// rate-limit reset the SDK waits for), and says what to do when the code
// is about the token.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s%s: %w", prefix, what, err)
	}
	p := st.Proto()
	p.Message = prefix + what + ": " + strings.TrimPrefix(p.GetMessage(), prefix)
	if hint := hintFor(st.Code()); hint != "" && !strings.Contains(p.GetMessage(), hint) {
		p.Message += "; " + hint
	}
	return status.ErrorProto(p)
}

func hintFor(code codes.Code) string {
	switch code {
	case codes.Unauthenticated:
		return "the API token is invalid, expired or for another region: check --auth-token (BATON_AUTH_TOKEN) and --region"
	case codes.PermissionDenied:
		return "the API user's role does not allow this: give it the Admin organization role in Tray.ai"
	default:
		return ""
	}
}

// absent reads the answer to a call for which NotFound means "already
// done" (a revoke or deletion found nothing to remove): true for NotFound,
// and any other error wrapped with what failed.
func absent(err error, format string, args ...any) (bool, error) {
	if isNotFound(err) {
		return true, nil
	}
	return false, wrapf(err, format, args...)
}

// alreadyRevoked answers a revoke that found nothing to remove.
func alreadyRevoked() annotations.Annotations { return annotations.New(&v2.GrantAlreadyRevoked{}) }

// revokedIf is alreadyRevoked when gone, and nothing otherwise.
func revokedIf(gone bool) annotations.Annotations {
	if gone {
		return alreadyRevoked()
	}
	return nil
}

// deletedIf tells the SDK a resource it asked to delete was already gone.
func deletedIf(gone bool) annotations.Annotations {
	if gone {
		return annotations.New(&v2.ResourceDoesNotExist{})
	}
	return nil
}

// syncPage fetches the page of a sync-wide listing that opts points at and
// notes the sync it belongs to. Tray's users, roles and workspaces have no
// parent resource, so a listing under a parent is empty (ok is false).
func syncPage[T any](ctx context.Context, c *Connector, parent *v2.ResourceId, opts rs.SyncOpAttrs, what string,
	fetch func(context.Context, string) (client.Page[T], error),
) (client.Page[T], bool, error) {
	if parent != nil {
		return client.Page[T]{}, false, nil
	}
	c.observeSync(ctx, opts.SyncID)
	page, err := fetch(ctx, opts.PageToken.Token)
	if err != nil {
		return client.Page[T]{}, false, wrapf(err, "list %s", what)
	}
	return page, true, nil
}

// grantedUser checks, before any API call, that a grant gives a user an
// entitlement of the syncer's resource type, and returns the user's id.
func grantedUser(principal *v2.Resource, e *v2.Entitlement, resourceTypeID string) (string, error) {
	userID, err := userPrincipal(principal.GetId())
	if err != nil {
		return "", err
	}
	if e.GetResource().GetId().GetResourceType() != resourceTypeID {
		return "", errorf(codes.InvalidArgument, "entitlement %s is not a %s entitlement", e.GetId(), resourceTypeID)
	}
	return userID, nil
}

// settle decides a write whose 2xx answer was not JSON (a proxy's page,
// most likely) by reading Tray's state again, as a repeated grant would:
// nil when the state is what the write wanted, a retryable error when it
// is not. Any other outcome of the write passes through unchanged.
func settle(err error, check func() (bool, error)) error {
	if !client.IsUnconfirmed(err) {
		return err
	}
	done, cerr := check()
	switch {
	case cerr != nil:
		return wrapf(cerr, "re-read Tray.ai after an answer that was not JSON")
	case done:
		return nil
	default:
		return errorf(codes.Unavailable, "Tray.ai answered with a page that is not JSON and the change is not in Tray.ai: nothing changed, so trying again is safe (%s)",
			status.Convert(err).Message())
	}
}

// removed is the check that settles an unconfirmed removal: done once the
// read of what was removed answers NotFound.
func removed(read func() error) func() (bool, error) {
	return func() (bool, error) {
		err := read()
		if isNotFound(err) {
			return true, nil
		}
		return false, err
	}
}

// fetched reads the answer to a targeted sync's GET of one resource: a
// resource that no longer exists is NotFound, which the SDK skips.
func fetched(err error, kind, id string) error {
	if isNotFound(err) {
		return errorf(codes.NotFound, "%s %s does not exist in Tray.ai", kind, id)
	}
	return wrapf(err, "get %s %s", kind, id)
}

// usersListedAll reports whether this sync's user listing saw every user:
// then the user syncer emits every org-role and Organization-workspace
// grant from the roster. A roster completed by anyone else (a role's own
// listing in a targeted sync) serves that caller, not the user syncer.
func (c *Connector) usersListedAll(syncID string) bool {
	var all bool
	c.cache.with(syncID, func(s *syncState) { all = s.usersListedAll })
	return all
}

// isNotFound reports a 404 from Tray.
func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }

// isForbidden reports a 403 from Tray.
func isForbidden(err error) bool { return status.Code(err) == codes.PermissionDenied }

func logger(ctx context.Context) *zap.Logger { return ctxzap.Extract(ctx) }

// userPrincipal checks a principal is a user before any API call.
func userPrincipal(id *v2.ResourceId) (string, error) {
	if id.GetResourceType() != userTypeID || id.GetResource() == "" {
		return "", errorf(codes.InvalidArgument,
			"only users can hold Tray.ai roles and workspace memberships, got a %q principal", id.GetResourceType())
	}
	return id.GetResource(), nil
}

// entitlementSlug is the part of the entitlement id after
// "<resource type>:<resource id>:", which is how the SDK builds it.
func entitlementSlug(e *v2.Entitlement) (string, error) {
	slug, ok := strings.CutPrefix(e.GetId(), ent.NewEntitlementID(e.GetResource(), ""))
	if !ok || slug == "" {
		return "", errorf(codes.InvalidArgument, "entitlement id %q does not belong to resource %s", e.GetId(), e.GetResource().GetId().GetResource())
	}
	return slug, nil
}

// allPages collects every element of a short listing (roles: a handful).
// Long listings are never collected: they page through the SDK instead.
func allPages[T any](fetch func(cursor string) (client.Page[T], error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		page, err := fetch(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Elements...)
		if cursor = page.NextCursor(); cursor == "" {
			return out, nil
		}
	}
}

// allOrgRoles lists the organization roles, fresh from Tray.
func (c *Connector) allOrgRoles(ctx context.Context) ([]client.Role, error) {
	roles, err := allPages(func(cursor string) (client.Page[client.Role], error) {
		return c.client.ListOrgRoles(ctx, cursor)
	})
	if err != nil {
		return nil, wrapf(err, "list organization roles")
	}
	return roles, nil
}

// allWorkspaceRoles lists a workspace's roles, fresh from Tray.
func (c *Connector) allWorkspaceRoles(ctx context.Context, wsID string) ([]client.Role, error) {
	roles, err := allPages(func(cursor string) (client.Page[client.Role], error) {
		return c.client.ListWorkspaceRoles(ctx, wsID, cursor)
	})
	if err != nil {
		return nil, wrapf(err, "list workspace roles %s", wsID)
	}
	return roles, nil
}

// freshUser reads a user for a provisioning decision.
func (c *Connector) freshUser(ctx context.Context, userID string) (client.User, error) {
	u, err := c.client.GetUser(ctx, userID)
	if isNotFound(err) {
		return client.User{}, errorf(codes.NotFound, "user %s no longer exists in Tray.ai; run a sync", userID)
	}
	if err != nil {
		return client.User{}, wrapf(err, "get user %s", userID)
	}
	return u, nil
}

// findRole finds a role by id or, case-insensitively, by name.
func findRole(roles []client.Role, nameOrID string) (client.Role, bool) {
	for _, r := range roles {
		if r.ID == nameOrID {
			return r, true
		}
	}
	for _, r := range roles {
		if strings.EqualFold(r.Name, nameOrID) {
			return r, true
		}
	}
	return client.Role{}, false
}

func roleNames(roles []client.Role) string {
	names := make([]string, 0, len(roles))
	for _, r := range roles {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

// roleDisplayName is a role's name, or its id when Tray sent no name.
func roleDisplayName(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

// ownerRoleName is the organization role of the one user who owns the
// organization (and its billing); Tray lets nobody grant, change or delete it.
const ownerRoleName = "Owner"

func isOwnerName(name string) bool { return strings.EqualFold(name, ownerRoleName) }

func isOwner(r *client.Role) bool { return r != nil && isOwnerName(r.Name) }

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

package connector

import (
	"context"
	"net/mail"
	"strings"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/conductorone/baton-trayai/pkg/client"
	"github.com/conductorone/baton-trayai/pkg/config"
)

// Account-creation profile fields. organizationRoleId is the earlier
// Tray.ai connector's field for the organization role (it took an id);
// it is accepted, as an id or a name, so that account-provisioning
// settings written for that connector keep working (docs/migrating.md).
const (
	accountFieldEmail        = "email"
	accountFieldName         = "name"
	accountFieldRole         = "role"
	accountFieldLegacyRoleID = "organizationRoleId"
)

func accountCreationSchema() *v2.ConnectorAccountCreationSchema {
	str := func() *v2.ConnectorAccountCreationSchema_StringField {
		return &v2.ConnectorAccountCreationSchema_StringField{}
	}
	return v2.ConnectorAccountCreationSchema_builder{
		FieldMap: map[string]*v2.ConnectorAccountCreationSchema_Field{
			accountFieldEmail: v2.ConnectorAccountCreationSchema_Field_builder{
				DisplayName: "Email", Required: true, Order: 1, Placeholder: "jane.doe@example.com",
				Description: "Email address of the new Tray.ai user",
				StringField: str(),
			}.Build(),
			accountFieldName: v2.ConnectorAccountCreationSchema_Field_builder{
				DisplayName: "Name", Order: 2, Placeholder: "Jane Doe",
				Description: "Full name (create mode; defaults to the part of the email before @)",
				StringField: str(),
			}.Build(),
			accountFieldRole: v2.ConnectorAccountCreationSchema_Field_builder{
				DisplayName: "Organization role", Order: 3, Placeholder: config.DefaultRoleName,
				Description: "Organization role name or id: Admin, Contributor or Viewer (default Viewer)",
				StringField: str(),
			}.Build(),
			accountFieldLegacyRoleID: v2.ConnectorAccountCreationSchema_Field_builder{
				DisplayName: "Organization role id (earlier connector)", Order: 4,
				Description: "The earlier Tray.ai connector's role field, kept for its settings: an organization role id or name. " +
					"Prefer Organization role; if both are set they must name the same role",
				StringField: str(),
			}.Build(),
		},
	}.Build()
}

// CreateAccountCapabilityDetails: Tray sets no passwords; people sign in
// through the invitation email or SSO.
func (u *userSyncer) CreateAccountCapabilityDetails(context.Context) (*v2.CredentialDetailsAccountProvisioning, annotations.Annotations, error) {
	return v2.CredentialDetailsAccountProvisioning_builder{
		SupportedCredentialOptions: []v2.CapabilityDetailCredentialOption{v2.CapabilityDetailCredentialOption_CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD},
		PreferredCredentialOption:  v2.CapabilityDetailCredentialOption_CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD,
	}.Build(), nil, nil
}

// CreateAccount creates (SSO organizations) or invites a user, as
// --account-creation-mode says. An email that already has an account is
// reported as AlreadyExists, without a duplicate.
func (u *userSyncer) CreateAccount(
	ctx context.Context, info *v2.AccountInfo, creds *v2.LocalCredentialOptions,
) (connectorbuilder.CreateAccountResponse, []*v2.PlaintextData, annotations.Annotations, error) {
	req, err := parseAccountRequest(info)
	if err != nil {
		return nil, nil, nil, err
	}
	if creds != nil && creds.WhichOptions() != v2.LocalCredentialOptions_NoPassword_case && creds.WhichOptions() != v2.LocalCredentialOptions_Options_not_set_case {
		// The baton CLI always asks for a random password; Tray has none to set.
		logger(ctx).Debug("ignoring the requested credential: Tray.ai users sign in through their invitation or SSO")
	}
	role, err := u.newAccountRole(ctx, req)
	if err != nil {
		return nil, nil, nil, err
	}
	existing, found, err := findUserByEmail(ctx, u.client, req.email)
	if err != nil {
		return nil, nil, nil, err
	}
	if found {
		return alreadyExists(existing)
	}
	if u.accountCreationMode == config.AccountCreationInvite {
		return u.invite(ctx, req, role)
	}
	return u.create(ctx, req, role)
}

// newAccountRole is the organization role a new account is given, named
// by id or name in role or organizationRoleId (the earlier connector's
// field), or the default: any but the Owner. When both fields are set they
// must name the same role.
func (u *userSyncer) newAccountRole(ctx context.Context, req accountRequest) (client.Role, error) {
	roles, err := allOrgRoles(ctx, u.client)
	if err != nil {
		return client.Role{}, err
	}
	var role client.Role
	for _, given := range []struct{ field, value string }{
		{accountFieldRole, req.role}, {accountFieldLegacyRoleID, req.legacyRole},
	} {
		if given.value == "" {
			continue
		}
		named, err := orgRoleNamed(roles, given.field, given.value)
		if err != nil {
			return client.Role{}, err
		}
		if role.ID != "" && role.ID != named.ID {
			return client.Role{}, errorf(codes.InvalidArgument,
				"account profile role %q and organizationRoleId %q name different organization roles: set only role (organizationRoleId is the earlier connector's field for it)",
				req.role, req.legacyRole)
		}
		role = named
	}
	if role.ID == "" {
		if role, err = orgRoleNamed(roles, accountFieldRole, config.DefaultRoleName); err != nil {
			return client.Role{}, err
		}
	}
	if isOwnerName(role.Name) {
		return client.Role{}, errorf(codes.InvalidArgument, "a new account cannot be the Owner: use Admin, Contributor or Viewer")
	}
	return role, nil
}

// orgRoleNamed finds the organization role an account profile field names
// by id or, failing that, by name.
func orgRoleNamed(roles []client.Role, field, idOrName string) (client.Role, error) {
	role, ok := roleByIDOrName(roles, idOrName)
	if !ok {
		return client.Role{}, errorf(codes.InvalidArgument, "account profile %s %q is not an organization role: use one of %s", field, idOrName, roleNames(roles))
	}
	return role, nil
}

// invite sends a Tray.ai invitation.
func (u *userSyncer) invite(
	ctx context.Context, req accountRequest, role client.Role,
) (connectorbuilder.CreateAccountResponse, []*v2.PlaintextData, annotations.Annotations, error) {
	inv, err := u.client.InviteUser(ctx, req.email, role.ID)
	if client.IsUnconfirmed(err) {
		// Tray lists no invitations, so there is nothing to re-read.
		return nil, nil, nil, errorf(codes.Unknown,
			"invite %s: Tray.ai's answer was not JSON, so whether the invitation went out is unknown (Tray.ai cannot list invitations): ask the invitee before inviting again",
			req.email)
	}
	if err != nil {
		return nil, nil, nil, wrapf(err, "invite %s", req.email)
	}
	return invitationSent(ctx, req.email, role.Name, inv), nil, nil, nil
}

// create creates the user directly. An answer that is not JSON is decided
// by looking the email up (Tray.ai's answer to a create is the user, which
// a re-read that only says yes or no would not give); a refusal that a
// concurrent or retried create won the race is AlreadyExists.
func (u *userSyncer) create(
	ctx context.Context, req accountRequest, role client.Role,
) (connectorbuilder.CreateAccountResponse, []*v2.PlaintextData, annotations.Annotations, error) {
	created, err := u.client.CreateUser(ctx, req.name, req.email, role.ID)
	if client.IsUnconfirmed(err) {
		var found bool
		if created, found, err = findUserByEmail(ctx, u.client, req.email); err == nil && !found {
			err = errorf(codes.Unavailable, "create user %s: Tray.ai's answer was not JSON and there is no such user in Tray.ai: nothing changed, so trying again is safe", req.email)
		}
	}
	if status.Code(err) == codes.InvalidArgument {
		if existing, found, ferr := findUserByEmail(ctx, u.client, req.email); ferr == nil && found {
			return alreadyExists(existing)
		}
	}
	if err != nil {
		return nil, nil, nil, wrapf(err, "create user %s", req.email)
	}
	if !created.HasDetails() {
		if full, gerr := u.client.GetUser(ctx, created.ID); gerr == nil {
			created = full
		}
	}
	res, err := userResource(created)
	if err != nil {
		return nil, nil, nil, err
	}
	return v2.CreateAccountResponse_SuccessResult_builder{Resource: res, IsCreateAccountResult: true}.Build(), nil, nil, nil
}

// invitationSent is the result of an invitation: a success that carries
// the invitation's expiry, which ConductorOne shows and after which it
// fails the task if the invitee has not accepted. It carries no account:
// Tray.ai makes the account, and its id, only on acceptance and lists no
// pending invitations, so the first sync after acceptance brings it.
func invitationSent(ctx context.Context, email, role string, inv client.Invite) connectorbuilder.CreateAccountResponse {
	result := v2.CreateAccountResponse_SuccessResult_builder{IsCreateAccountResult: true}
	expires := "when Tray.ai decides (it sent no expiry)"
	if !inv.Expires.IsZero() {
		result.InvitationExpiresAt = timestamppb.New(inv.Expires)
		expires = inv.Expires.UTC().Format(time.RFC3339)
	}
	logger(ctx).Info("Tray.ai emailed an invitation; the account exists once it is accepted",
		zap.String("email", email), zap.String("role", role), zap.String("invite_id", inv.InviteID), zap.String("expires", expires))
	return result.Build()
}

// alreadyExists answers a request for an account the email already has.
func alreadyExists(existing client.User) (connectorbuilder.CreateAccountResponse, []*v2.PlaintextData, annotations.Annotations, error) {
	res, err := userResource(existing)
	if err != nil {
		return nil, nil, nil, err
	}
	return v2.CreateAccountResponse_AlreadyExistsResult_builder{Resource: res, IsCreateAccountResult: true}.Build(), nil, nil, nil
}

type accountRequest struct {
	email string
	name  string
	// role and legacyRole are the role and organizationRoleId fields, as
	// given (either may be empty).
	role       string
	legacyRole string
}

// parseAccountRequest reads the profile without trusting its types: a
// missing or non-string value is treated as absent, never a panic.
func parseAccountRequest(info *v2.AccountInfo) (accountRequest, error) {
	profile := info.GetProfile()
	get := func(k string) string {
		v, _ := rs.GetProfileStringValue(profile, k)
		return strings.TrimSpace(v)
	}
	req := accountRequest{
		email: get(accountFieldEmail), name: get(accountFieldName),
		role: get(accountFieldRole), legacyRole: get(accountFieldLegacyRoleID),
	}
	if req.email == "" {
		for _, e := range info.GetEmails() {
			if e.GetAddress() != "" && (req.email == "" || e.GetIsPrimary()) {
				req.email = strings.TrimSpace(e.GetAddress())
			}
		}
	}
	if req.email == "" && strings.Contains(info.GetLogin(), "@") {
		req.email = strings.TrimSpace(info.GetLogin())
	}
	if req.email == "" {
		return accountRequest{}, errorf(codes.InvalidArgument, "the account profile needs an email")
	}
	if addr, err := mail.ParseAddress(req.email); err != nil || addr.Address != req.email || strings.ContainsAny(req.email, " \t\r\n") {
		return accountRequest{}, errorf(codes.InvalidArgument, "account email %q is not a plain email address", req.email)
	}
	if req.name == "" {
		req.name, _, _ = strings.Cut(req.email, "@")
	}
	return req, nil
}

// findUserByEmail finds a user by email, comparing case-insensitively
// itself: Tray's matching rules for the email filter are undocumented.
func findUserByEmail(ctx context.Context, cl *client.Client, email string) (client.User, bool, error) {
	cursor := ""
	for {
		page, err := cl.FindUsersByEmail(ctx, email, cursor)
		if err != nil {
			return client.User{}, false, wrapf(err, "look up %s", email)
		}
		users, err := completeUsers(ctx, cl, nil, page.Elements)
		if err != nil {
			return client.User{}, false, err
		}
		for _, usr := range users {
			if strings.EqualFold(usr.Email, email) {
				return usr, true, nil
			}
		}
		if cursor = page.NextCursor(); cursor == "" {
			return client.User{}, false, nil
		}
	}
}

// Delete removes a user from the organization. A user already gone is
// success; the Owner cannot be deleted.
func (u *userSyncer) Delete(ctx context.Context, id *v2.ResourceId, _ *v2.ResourceId) (annotations.Annotations, error) {
	userID, err := userPrincipal(id)
	if err != nil {
		return nil, err
	}
	user, err := u.client.GetUser(ctx, userID)
	if status.Code(err) == codes.NotFound {
		return alreadyDeleted(), nil
	}
	if err != nil {
		return nil, wrapf(err, "get user %s", userID)
	}
	if isOwner(user.Role) {
		return nil, errorf(codes.FailedPrecondition,
			"%s is the organization Owner and cannot be deleted: transfer ownership in Tray.ai first", displayUser(user))
	}
	if err := u.guard.check(ctx, user, "delete "+displayUser(user)); err != nil {
		return nil, err
	}
	err = u.client.DeleteUser(ctx, userID)
	if client.IsUnconfirmed(err) {
		err = rereadUnconfirmed(err, func() (bool, error) {
			_, err := u.client.GetUser(ctx, userID)
			if status.Code(err) == codes.NotFound {
				return true, nil
			}
			return false, err
		})
	}
	if status.Code(err) == codes.NotFound {
		return alreadyDeleted(), nil
	}
	if err != nil {
		return nil, wrapf(err, "delete user %s", userID)
	}
	logger(ctx).Info("deleted Tray.ai user; Tray.ai keeps their personal assets in a new shared workspace named after them",
		zap.String("user_id", userID))
	return nil, nil
}

package client

import (
	"encoding/json"
	"strings"
	"time"
)

// Role is an organization role or a workspace role.
type Role struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// UnmarshalJSON accepts the documented object and, because third-party
// descriptions of the API show it, a bare role name; a name without an id
// makes the item incomplete, so its details are fetched. Other values
// decode to an empty role instead of failing the page.
func (r *Role) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*r = Role{Name: name}
		return nil
	}
	var obj struct {
		ID   any `json:"id"`
		Name any `json:"name"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		*r = Role{}
		return nil //nolint:nilerr // an unusable role is treated as absent, never as a broken page
	}
	id, _ := obj.ID.(string)
	n, _ := obj.Name.(string)
	*r = Role{ID: id, Name: n}
	return nil
}

// User is an organization user. List items may carry only ID and Name (the
// real list shape is undocumented), so callers use HasDetails before relying
// on Email, AccountType or Role.
type User struct {
	// Fields in the order of the spec's UserExternalApiModel.
	ID          string      `json:"id"`
	Email       string      `json:"email,omitempty"`
	Name        string      `json:"name"`
	AccountType AccountType `json:"accountType,omitempty"`
	// Role is the user's organization role (a member's workspace role in
	// a WorkspaceUser).
	Role *Role `json:"role,omitempty"`
}

// HasDetails reports whether the user carries everything a full sync needs,
// so that a per-user GET can be skipped.
func (u User) HasDetails() bool {
	return u.Email != "" && u.AccountType != "" && u.Role != nil && u.Role.ID != ""
}

// Workspace is a Tray.ai workspace.
type Workspace struct {
	ID               string        `json:"id"`
	Name             string        `json:"name"`
	Type             WorkspaceType `json:"type"`
	Description      string        `json:"description,omitempty"`
	MonthlyTaskLimit *int64        `json:"monthlyTaskLimit,omitempty"`
}

// WorkspaceUser is a user seen in a workspace (the spec's
// WorkspaceUserExternalApiModel): its Role is the role the member holds in
// that workspace, not their organization role, and Tray sends no Name.
// List items may lack Role and Email.
type WorkspaceUser struct {
	WorkspaceID string `json:"workspaceId,omitempty"`
	User
}

// HasRole reports whether the member's workspace role is present.
func (m WorkspaceUser) HasRole() bool {
	return m.Role != nil && m.Role.ID != ""
}

// Invite is the answer to an invitation request. The user only exists in
// Tray.ai once the invitation is accepted.
type Invite struct {
	InviteID string    `json:"inviteId"`
	Expires  time.Time `json:"expires"`
}

// AccountType is Tray's account type. Values are normalized to the
// spelling of the spec's titles; an unknown value is kept as sent.
type AccountType string

// Account types named by the Tray.ai spec.
const (
	AccountTypeAPI         AccountType = "API"
	AccountTypeExternal    AccountType = "External"
	AccountTypeIntegration AccountType = "Integration"
	AccountTypePartner     AccountType = "Partner"
	AccountTypeRegular     AccountType = "Regular"
	AccountTypeSystem      AccountType = "System"
)

var knownAccountTypes = []AccountType{
	AccountTypeAPI, AccountTypeExternal, AccountTypeIntegration,
	AccountTypePartner, AccountTypeRegular, AccountTypeSystem,
}

// UnmarshalJSON accepts any casing (the wire spelling is undocumented) and
// never fails on an unknown value or on null.
func (a *AccountType) UnmarshalJSON(b []byte) error {
	*a = AccountType(canonical(decodeEnum(b), knownAccountTypes))
	return nil
}

// Known reports whether the value is one the spec names.
func (a AccountType) Known() bool { return isKnown(a, knownAccountTypes) }

// WorkspaceType is Tray's workspace type, normalized like AccountType.
type WorkspaceType string

// Workspace types named by the Tray.ai spec.
const (
	WorkspaceTypeEmbedded         WorkspaceType = "Embedded"
	WorkspaceTypeOrganization     WorkspaceType = "Organization"
	WorkspaceTypePersonal         WorkspaceType = "Personal"
	WorkspaceTypePersonalExternal WorkspaceType = "PersonalExternal"
	WorkspaceTypeShared           WorkspaceType = "Shared"
)

// knownWorkspaceTypes lists the workspace types in the spec, in a stable order.
var knownWorkspaceTypes = []WorkspaceType{
	WorkspaceTypeOrganization, WorkspaceTypeShared, WorkspaceTypeEmbedded,
	WorkspaceTypePersonal, WorkspaceTypePersonalExternal,
}

// UnmarshalJSON accepts any casing and never fails on unknown values.
func (w *WorkspaceType) UnmarshalJSON(b []byte) error {
	*w = WorkspaceType(canonical(decodeEnum(b), knownWorkspaceTypes))
	return nil
}

// Known reports whether the value is one the spec names.
func (w WorkspaceType) Known() bool { return isKnown(w, knownWorkspaceTypes) }

// ParseWorkspaceType maps a user-supplied name (any case) to a known type.
func ParseWorkspaceType(s string) (WorkspaceType, bool) {
	t := WorkspaceType(canonical(strings.TrimSpace(s), knownWorkspaceTypes))
	return t, t.Known()
}

// WorkspaceTypeNames lists the known workspace types' names, in the spec's
// order, for messages and defaults.
func WorkspaceTypeNames(types ...WorkspaceType) []string {
	if len(types) == 0 {
		types = knownWorkspaceTypes
	}
	out := make([]string, 0, len(types))
	for _, t := range types {
		out = append(out, string(t))
	}
	return out
}

// decodeEnum reads a JSON string; objects, numbers and null (the spec models
// these enums as empty objects) decode to "".
func decodeEnum(b []byte) string {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return ""
	}
	return s
}

func canonical[T ~string](s string, known []T) string {
	for _, k := range known {
		if strings.EqualFold(s, string(k)) {
			return string(k)
		}
	}
	// Some producers spell PersonalExternal as PERSONAL_EXTERNAL.
	folded := strings.ReplaceAll(s, "_", "")
	for _, k := range known {
		if strings.EqualFold(folded, string(k)) {
			return string(k)
		}
	}
	return s
}

func isKnown[T ~string](v T, known []T) bool {
	for _, k := range known {
		if v == k {
			return true
		}
	}
	return false
}

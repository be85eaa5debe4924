// Package config declares baton-trayai's configuration fields and their
// defaults. The typed struct in conf.gen.go is generated from them: run
// `go generate ./pkg/config`.
package config

import (
	"fmt"
	"strings"

	"github.com/conductorone/baton-sdk/pkg/field"
)

// Region is a --region value and the Tray.ai Platform API host it selects.
type Region struct {
	Name string
	Host string
}

// Regions are Tray.ai's regions, in the order --help lists them.
var Regions = []Region{
	{Name: "us", Host: "https://api.tray.io"},
	{Name: "eu", Host: "https://api.eu1.tray.io"},
	{Name: "apac", Host: "https://api.ap1.tray.io"},
}

// DefaultRegion is the region of an organization that names none.
const DefaultRegion = "us"

// RegionHost returns the API host of a region name (lower case).
func RegionHost(name string) (string, bool) {
	for _, r := range Regions {
		if r.Name == name {
			return r.Host, true
		}
	}
	return "", false
}

// RegionNames lists the region names, for messages.
func RegionNames() []string {
	out := make([]string, 0, len(Regions))
	for _, r := range Regions {
		out = append(out, r.Name)
	}
	return out
}

// Account-creation modes.
const (
	AccountCreationInvite = "invite"
	AccountCreationCreate = "create"
)

// DefaultRoleName is the role given where the operator or the request
// names none: the default workspace role, the fallback organization role
// and a new account's organization role. It is the least privileged.
const DefaultRoleName = "Viewer"

// DefaultRequestsPerSecond is --rate-limit's default: Tray.ai's rate per
// organization (docs/tray-api-notes.md, "Rate limits").
const DefaultRequestsPerSecond = 30

// DefaultOutageBudgetSeconds is how long Tray.ai may fail, by default,
// before a run gives up.
const DefaultOutageBudgetSeconds = 300

// WorkspaceTypes are Tray.ai's workspace types, for --workspace-types's
// help (docs/tray-api-notes.md, "Workspace types").
var WorkspaceTypes = []string{"Organization", "Shared", "Embedded", "Personal", "PersonalExternal"}

// DefaultWorkspaceTypes are synced unless --workspace-types says otherwise.
// Personal workspaces (one per user, only their owner in them) are left out.
var DefaultWorkspaceTypes = []string{"Organization", "Shared", "Embedded"}

// Field definitions; their order is the order of --help.
var (
	// AuthTokenField is the API-user bearer token.
	AuthTokenField = field.StringField("auth-token",
		field.WithDisplayName("API token"),
		field.WithDescription("Tray.ai API-user token (Account Settings > Tokens). The API user needs the Admin organization role."),
		field.WithRequired(true),
		field.WithIsSecret(true),
	)
	// RegionField selects the regional API host.
	RegionField = field.SelectField("region", RegionNames(),
		field.WithDisplayName("Region"),
		field.WithDescription("Tray.ai region of the organization: "+regionList()),
		field.WithDefaultValue(DefaultRegion),
	)
	// BaseURLField overrides the host (tests, proxies); CLI only.
	BaseURLField = field.StringField("base-url",
		field.WithDisplayName("API base URL"),
		field.WithDescription("Override the Tray.ai API URL chosen by --region (for testing and proxies)"),
		field.WithHidden(true),
		field.WithExportTarget(field.ExportTargetCLIOnly),
	)
	// WorkspaceTypesField selects the workspace types to sync.
	WorkspaceTypesField = field.StringSliceField("workspace-types",
		field.WithDisplayName("Workspace types"),
		field.WithDescription("Workspace types to sync: "+strings.Join(WorkspaceTypes, ", ")),
		field.WithDefaultValue(DefaultWorkspaceTypes),
	)
	// RateLimitField is the client-side request rate.
	RateLimitField = field.IntField("rate-limit",
		field.WithDisplayName("Requests per second"),
		field.WithDescription("Most Tray.ai API requests per second (Tray.ai allows 30 per organization, shared by its integrations); the pace falls by itself while Tray.ai answers 429"),
		field.WithDefaultValue(DefaultRequestsPerSecond),
	)
	// AccountCreationModeField chooses between invitation and direct creation.
	AccountCreationModeField = field.SelectField("account-creation-mode", []string{AccountCreationInvite, AccountCreationCreate},
		field.WithDisplayName("Account creation mode"),
		field.WithDescription("invite: send a Tray.ai invitation email; create: create the user directly (organizations with SSO)"),
		field.WithDefaultValue(AccountCreationInvite),
	)
	// DefaultWorkspaceRoleField is the role given by a member grant.
	DefaultWorkspaceRoleField = field.StringField("default-workspace-role",
		field.WithDisplayName("Default workspace role"),
		field.WithDescription("Workspace role (name) given when the member entitlement of a workspace is granted"),
		field.WithDefaultValue(DefaultRoleName),
	)
	// FallbackOrgRoleField is the org role a revoke moves a user to.
	FallbackOrgRoleField = field.StringField("fallback-org-role",
		field.WithDisplayName("Fallback organization role"),
		field.WithDescription("Organization role (name) a user is moved to when their organization role is revoked"),
		field.WithDefaultValue(DefaultRoleName),
	)

	// ListedMembershipsOnlyField leaves out the access Tray gives org Owners and Admins.
	ListedMembershipsOnlyField = field.BoolField("listed-memberships-only",
		field.WithDisplayName("Listed memberships only"),
		field.WithDescription("Report only the workspace memberships Tray.ai lists, leaving out the Admin role that organization Owners and Admins hold in every workspace"),
	)
	// OutageBudgetField bounds how long a run retries an API that keeps failing.
	OutageBudgetField = field.IntField("outage-budget-seconds",
		field.WithDisplayName("Outage budget (seconds)"),
		field.WithDescription("How long Tray.ai may fail or be unreachable, without one successful request, before the run stops with an error"),
		field.WithDefaultValue(DefaultOutageBudgetSeconds),
	)
	// ConnectorAccountField names the API user whose token the connector uses.
	ConnectorAccountField = field.StringField("connector-account",
		field.WithDisplayName("Connector's own account"),
		field.WithDescription("Email or id of the Tray.ai API user whose token the connector uses; provisioning never removes or reduces its access"),
	)
	// ProtectedAccountsField names further accounts provisioning must not weaken.
	ProtectedAccountsField = field.StringSliceField("protected-accounts",
		field.WithDisplayName("Protected accounts"),
		field.WithDescription("Emails or ids of further Tray.ai accounts whose access provisioning never removes or reduces (break-glass admins, other integrations)"),
	)

	// ConfigurationFields is the connector's schema, in --help order.
	ConfigurationFields = []field.SchemaField{
		AuthTokenField, RegionField, BaseURLField, WorkspaceTypesField, ListedMembershipsOnlyField, RateLimitField, OutageBudgetField,
		AccountCreationModeField, DefaultWorkspaceRoleField, FallbackOrgRoleField,
		ConnectorAccountField, ProtectedAccountsField,
	}
)

// regionList reads "us (api.tray.io), eu (api.eu1.tray.io) or apac (api.ap1.tray.io)".
func regionList() string {
	parts := make([]string, 0, len(Regions))
	for _, r := range Regions {
		parts = append(parts, fmt.Sprintf("%s (%s)", r.Name, strings.TrimPrefix(r.Host, "https://")))
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

//go:generate go run ./gen

// Config is the connector's configuration schema.
var Config = field.NewConfiguration(
	ConfigurationFields,
	field.WithConnectorDisplayName("Tray.ai"),
	field.WithHelpUrl("/docs/baton/trayai"),
	field.WithIconUrl("/static/app-icons/trayai.svg"),
)

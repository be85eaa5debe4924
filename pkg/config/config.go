// Package config declares baton-trayai's configuration fields. The typed
// struct in conf.gen.go is generated from them: run `go generate ./pkg/config`.
package config

import (
	"github.com/conductorone/baton-sdk/pkg/field"
)

// RegionHosts maps --region values to Tray.ai Platform API hosts.
var RegionHosts = map[string]string{
	"us":   "https://api.tray.io",
	"eu":   "https://api.eu1.tray.io",
	"apac": "https://api.ap1.tray.io",
}

// Account-creation modes.
const (
	AccountCreationInvite = "invite"
	AccountCreationCreate = "create"
)

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
	RegionField = field.SelectField("region", []string{"us", "eu", "apac"},
		field.WithDisplayName("Region"),
		field.WithDescription("Tray.ai region of the organization: us (api.tray.io), eu (api.eu1.tray.io) or apac (api.ap1.tray.io)"),
		field.WithDefaultValue("us"),
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
		field.WithDescription("Workspace types to sync: Organization, Shared, Embedded, Personal, PersonalExternal"),
		field.WithDefaultValue(DefaultWorkspaceTypes),
	)
	// RateLimitField is the client-side request rate.
	RateLimitField = field.IntField("rate-limit",
		field.WithDisplayName("Requests per second"),
		field.WithDescription("Client-side limit on Tray.ai API requests per second (Tray.ai allows 30 per organization)"),
		field.WithDefaultValue(25),
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
		field.WithDefaultValue("Viewer"),
	)
	// FallbackOrgRoleField is the org role a revoke moves a user to.
	FallbackOrgRoleField = field.StringField("fallback-org-role",
		field.WithDisplayName("Fallback organization role"),
		field.WithDescription("Organization role (name) a user is moved to when their organization role is revoked"),
		field.WithDefaultValue("Viewer"),
	)

	// ConfigurationFields is the connector's schema, in --help order.
	ConfigurationFields = []field.SchemaField{
		AuthTokenField, RegionField, BaseURLField, WorkspaceTypesField, RateLimitField,
		AccountCreationModeField, DefaultWorkspaceRoleField, FallbackOrgRoleField,
	}
	// FieldRelationships constrains fields; none are needed.
	FieldRelationships = []field.SchemaFieldRelationship{}
)

//go:generate go run ./gen

// Config is the connector's configuration schema.
var Config = field.NewConfiguration(
	ConfigurationFields,
	field.WithConstraints(FieldRelationships...),
	field.WithConnectorDisplayName("Tray.ai"),
	field.WithHelpUrl("/docs/baton/trayai"),
	field.WithIconUrl("/static/app-icons/trayai.svg"),
)

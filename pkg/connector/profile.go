package connector

// Profile keys of the resources a sync writes. Grants and provisioning read
// them back, and so do tools outside this package: tools/c1zreport reads a
// workspace's type, scripts/conformance.sh a workspace's type and a user's
// email, account type and organization role name. A key, once written,
// does not change.
//
// The legacy keys are the ones the earlier Tray.ai connector
// (github.com/ConductorOne/baton-trayai) wrote, kept beside ours with the
// same values it gave them, so that anything bound to them in ConductorOne
// keeps working after the switch (docs/migrating.md).
const (
	// A user's.
	profileUserID      = "id"
	profileEmail       = "email"
	profileName        = "name"
	profileAccountType = "account_type"
	profileOrgRoleID   = "org_role_id"
	profileOrgRoleName = "org_role_name"

	// A user's, as the earlier connector wrote them: username held the
	// user's name, accountType Tray's account type, role the organization
	// role's name.
	legacyProfileUsername    = "username"
	legacyProfileAccountType = "accountType"
	legacyProfileOrgRoleName = "role"

	// An organization role's.
	profileRoleID   = "id"
	profileRoleName = "name"

	// A workspace's.
	profileWorkspaceID   = "id"
	profileWorkspaceType = "type"
	profileDescription   = "description"
	profileTaskLimit     = "monthly_task_limit"

	// A workspace's, as the earlier connector wrote them (the task limit
	// as 0 when Tray sent none).
	legacyProfileWorkspaceID          = "workspace_id"
	legacyProfileWorkspaceName        = "workspace_name"
	legacyProfileWorkspaceType        = "workspace_type"
	legacyProfileWorkspaceDescription = "workspace_description"
	legacyProfileWorkspaceTaskLimit   = "workspace_monthlyTaskLimit"
)

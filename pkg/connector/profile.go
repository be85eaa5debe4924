package connector

// Profile keys of the resources a sync writes. Grants and provisioning read
// them back, and so do tools outside this package: tools/c1zreport reads a
// workspace's type, scripts/conformance.sh a workspace's type and a user's
// email, account type and organization role name. A key, once written,
// does not change.
const (
	// A user's.
	profileUserID      = "id"
	profileEmail       = "email"
	profileName        = "name"
	profileAccountType = "account_type"
	profileOrgRoleID   = "org_role_id"
	profileOrgRoleName = "org_role_name"

	// An organization role's.
	profileRoleID   = "id"
	profileRoleName = "name"

	// A workspace's.
	profileWorkspaceID   = "id"
	profileWorkspaceType = "type"
	profileDescription   = "description"
	profileTaskLimit     = "monthly_task_limit"
)

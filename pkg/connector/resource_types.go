package connector

import (
	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
)

// Resource type ids are part of every resource, entitlement and grant id:
// they never change.
const (
	userTypeID      = "user"
	roleTypeID      = "role"
	workspaceTypeID = "workspace"
)

// Entitlement slugs. Workspace-role entitlements use the role's id as slug.
const (
	roleAssignedSlug = "assigned"
	memberSlug       = "member"
)

var (
	userResourceType = v2.ResourceType_builder{
		Id:          userTypeID,
		DisplayName: "User",
		Description: "A Tray.ai organization user: a person, or an API, integration or system account",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_USER},
		// Users have no entitlements. Their grants (org role, Organization
		// workspace membership) are listed for the whole type at once.
		Annotations: annotations.New(&v2.SkipEntitlements{}, &v2.TypeScopedGrants{}),
	}.Build()

	roleResourceType = v2.ResourceType_builder{
		Id:          roleTypeID,
		DisplayName: "Organization role",
		Description: "A Tray.ai organization role (Owner, Admin, Contributor, Viewer); every user holds exactly one",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_ROLE},
	}.Build()

	workspaceResourceType = v2.ResourceType_builder{
		Id:          workspaceTypeID,
		DisplayName: "Workspace",
		Description: "A Tray.ai workspace; members hold one workspace role each",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_GROUP},
	}.Build()
)

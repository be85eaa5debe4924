package connector

import (
	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"google.golang.org/protobuf/proto"
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
	// Users have no entitlements. Their grants (org role, Organization
	// workspace membership) are listed for the whole type at once.
	userResourceType = resourceType(userTypeID, "User", v2.ResourceType_TRAIT_USER,
		"A Tray.ai organization user: a person, or an API, integration or system account",
		&v2.SkipEntitlements{}, &v2.TypeScopedGrants{})
	roleResourceType = resourceType(roleTypeID, "Organization role", v2.ResourceType_TRAIT_ROLE,
		"A Tray.ai organization role (Owner, Admin, Contributor, Viewer); every user holds exactly one")
	workspaceResourceType = resourceType(workspaceTypeID, "Workspace", v2.ResourceType_TRAIT_GROUP,
		"A Tray.ai workspace; members hold one workspace role each")
)

func resourceType(id, name string, trait v2.ResourceType_Trait, description string, annos ...proto.Message) *v2.ResourceType {
	return v2.ResourceType_builder{
		Id:          id,
		DisplayName: name,
		Description: description,
		Traits:      []v2.ResourceType_Trait{trait},
		Annotations: annotations.New(annos...),
	}.Build()
}

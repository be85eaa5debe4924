package connector

import (
	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Users are the only principals: Tray.ai gives roles and workspace
// memberships to users alone.

// userResourceID is the resource id of a Tray.ai user, as a principal.
func userResourceID(userID string) *v2.ResourceId {
	return v2.ResourceId_builder{ResourceType: userTypeID, Resource: userID}.Build()
}

// userPrincipal checks a principal is a user before any API call.
func userPrincipal(id *v2.ResourceId) (string, error) {
	if id.GetResourceType() != userTypeID || id.GetResource() == "" {
		return "", errorf(codes.InvalidArgument,
			"only users can hold Tray.ai roles and workspace memberships, got a %q principal", id.GetResourceType())
	}
	return id.GetResource(), nil
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

// displayUser names a user in messages: by email, name or id.
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

package connector

import (
	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Provisioning reads Tray.ai's state before every write, so that a retried
// or repeated grant, revoke or deletion is a no-op that says so: a grant
// of what the user holds is GrantAlreadyExists, a revoke or deletion of
// what is gone is GrantAlreadyRevoked or ResourceDoesNotExist. A grant that
// replaces the user's one role reports GrantReplaced. Nothing that would
// remove or reduce the access of a protected account is written (guard, in
// protect.go).

// rereadUnconfirmed decides a write whose 2xx answer was not JSON (a
// proxy's page, most likely; client.IsUnconfirmed) by reading Tray.ai
// again, as a repeated grant would: changed reports whether Tray.ai now
// holds what the write wanted. It returns nil when it does, and a
// retryable error when it does not. Every write re-reads through it.
func rereadUnconfirmed(err error, changed func() (bool, error)) error {
	done, rerr := changed()
	switch {
	case rerr != nil:
		return wrapf(rerr, "re-read Tray.ai after an answer that was not JSON")
	case done:
		return nil
	default:
		return errorf(codes.Unavailable, "Tray.ai answered with a page that is not JSON and the change is not in Tray.ai: nothing changed, so trying again is safe (%s)",
			status.Convert(err).Message())
	}
}

// alreadyRevoked answers a revoke that found nothing to remove.
func alreadyRevoked() annotations.Annotations { return annotations.New(&v2.GrantAlreadyRevoked{}) }

// alreadyGranted answers a grant of what the user already holds.
func alreadyGranted() annotations.Annotations { return annotations.New(&v2.GrantAlreadyExists{}) }

// alreadyDeleted answers a deletion of a resource that is already gone.
func alreadyDeleted() annotations.Annotations { return annotations.New(&v2.ResourceDoesNotExist{}) }

package outcome

import (
	"context"
	"errors"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Code is the exit code of an error, as the SDK computes it: 0 for none,
// the gRPC code of a status error, Canceled or DeadlineExceeded for those
// context errors, and Unknown (2) for anything else.
func Code(err error) int {
	if err == nil {
		return 0
	}
	if st, ok := status.FromError(err); ok {
		if st.Code() == codes.OK {
			return int(codes.Internal)
		}
		return int(st.Code())
	}
	switch {
	case errors.Is(err, context.Canceled):
		return int(codes.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return int(codes.DeadlineExceeded)
	default:
		return CodeUnknown
	}
}

// JournalServer returns srv with every error it returns, and every call
// that ends a task successfully, written to j. With no journal it returns
// srv unchanged.
func JournalServer(srv types.ConnectorServer, j *Journal) types.ConnectorServer {
	if j == nil {
		return srv
	}
	return &journaled{ConnectorServer: srv, j: j}
}

type journaled struct {
	types.ConnectorServer
	j *Journal
}

// note journals a call's outcome and passes its error through. A call the
// worker cancelled is a consequence of how the task ended, not its cause,
// so it is left out.
func (s *journaled) note(method string, err error, endsTask bool) error {
	switch code := Code(err); {
	case err == nil && endsTask:
		s.j.Done(method)
	case err != nil && code != int(codes.Canceled):
		s.j.Fail(method, code)
	}
	return err
}

// call runs one call of the wrapped server and journals its outcome.
func call[Req, Resp any](ctx context.Context, s *journaled, method string, endsTask bool, f func(context.Context, Req) (Resp, error), r Req) (Resp, error) {
	resp, err := f(ctx, r)
	return resp, s.note(method, err, endsTask)
}

// The calls journaled: every call of a sync, and those that end a task
// (the sync's Cleanup, sent once the sync is sealed, and provisioning).
func (s *journaled) Validate(ctx context.Context, r *v2.ConnectorServiceValidateRequest) (*v2.ConnectorServiceValidateResponse, error) {
	return call(ctx, s, "Validate", false, s.ConnectorServer.Validate, r)
}

func (s *journaled) Cleanup(ctx context.Context, r *v2.ConnectorServiceCleanupRequest) (*v2.ConnectorServiceCleanupResponse, error) {
	return call(ctx, s, "Cleanup", true, s.ConnectorServer.Cleanup, r)
}

func (s *journaled) ListResourceTypes(ctx context.Context, r *v2.ResourceTypesServiceListResourceTypesRequest) (*v2.ResourceTypesServiceListResourceTypesResponse, error) {
	return call(ctx, s, "ListResourceTypes", false, s.ConnectorServer.ListResourceTypes, r)
}

func (s *journaled) ListResources(ctx context.Context, r *v2.ResourcesServiceListResourcesRequest) (*v2.ResourcesServiceListResourcesResponse, error) {
	return call(ctx, s, "ListResources", false, s.ConnectorServer.ListResources, r)
}

func (s *journaled) GetResource(ctx context.Context, r *v2.ResourceGetterServiceGetResourceRequest) (*v2.ResourceGetterServiceGetResourceResponse, error) {
	return call(ctx, s, "GetResource", false, s.ConnectorServer.GetResource, r)
}

func (s *journaled) ListEntitlements(ctx context.Context, r *v2.EntitlementsServiceListEntitlementsRequest) (*v2.EntitlementsServiceListEntitlementsResponse, error) {
	return call(ctx, s, "ListEntitlements", false, s.ConnectorServer.ListEntitlements, r)
}

func (s *journaled) ListGrants(ctx context.Context, r *v2.GrantsServiceListGrantsRequest) (*v2.GrantsServiceListGrantsResponse, error) {
	return call(ctx, s, "ListGrants", false, s.ConnectorServer.ListGrants, r)
}

func (s *journaled) Grant(ctx context.Context, r *v2.GrantManagerServiceGrantRequest) (*v2.GrantManagerServiceGrantResponse, error) {
	return call(ctx, s, "Grant", true, s.ConnectorServer.Grant, r)
}

func (s *journaled) Revoke(ctx context.Context, r *v2.GrantManagerServiceRevokeRequest) (*v2.GrantManagerServiceRevokeResponse, error) {
	return call(ctx, s, "Revoke", true, s.ConnectorServer.Revoke, r)
}

func (s *journaled) CreateAccount(ctx context.Context, r *v2.CreateAccountRequest) (*v2.CreateAccountResponse, error) {
	return call(ctx, s, "CreateAccount", true, s.ConnectorServer.CreateAccount, r)
}

func (s *journaled) CreateResource(ctx context.Context, r *v2.CreateResourceRequest) (*v2.CreateResourceResponse, error) {
	return call(ctx, s, "CreateResource", true, s.ConnectorServer.CreateResource, r)
}

func (s *journaled) DeleteResource(ctx context.Context, r *v2.DeleteResourceRequest) (*v2.DeleteResourceResponse, error) {
	return call(ctx, s, "DeleteResource", true, s.ConnectorServer.DeleteResource, r)
}

func (s *journaled) DeleteResourceV2(ctx context.Context, r *v2.DeleteResourceV2Request) (*v2.DeleteResourceV2Response, error) {
	return call(ctx, s, "DeleteResourceV2", true, s.ConnectorServer.DeleteResourceV2, r)
}

func (s *journaled) IssueCredential(ctx context.Context, r *v2.IssueCredentialRequest) (*v2.IssueCredentialResponse, error) {
	return call(ctx, s, "IssueCredential", true, s.ConnectorServer.IssueCredential, r)
}

func (s *journaled) RotateCredential(ctx context.Context, r *v2.RotateCredentialRequest) (*v2.RotateCredentialResponse, error) {
	return call(ctx, s, "RotateCredential", true, s.ConnectorServer.RotateCredential, r)
}

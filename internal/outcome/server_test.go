package outcome

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// refusing answers every provisioning call with an error.
type refusing struct{ types.ConnectorServer }

func (refusing) RotateCredential(context.Context, *v2.RotateCredentialRequest) (*v2.RotateCredentialResponse, error) {
	return nil, status.Error(codes.Unimplemented, "no credential rotation")
}

func (refusing) Grant(context.Context, *v2.GrantManagerServiceGrantRequest) (*v2.GrantManagerServiceGrantResponse, error) {
	return &v2.GrantManagerServiceGrantResponse{}, nil
}

// unimplemented answers every call Unimplemented, as a connector without
// the capability does.
type unimplemented struct {
	v2.UnimplementedResourceTypesServiceServer
	v2.UnimplementedResourcesServiceServer
	v2.UnimplementedEntitlementsServiceServer
	v2.UnimplementedGrantsServiceServer
	v2.UnimplementedConnectorServiceServer
	v2.UnimplementedAssetServiceServer
	v2.UnimplementedGrantManagerServiceServer
	v2.UnimplementedResourceManagerServiceServer
	v2.UnimplementedResourceDeleterServiceServer
	v2.UnimplementedAccountManagerServiceServer
	v2.UnimplementedCredentialManagerServiceServer
	v2.UnimplementedEventServiceServer
	v2.UnimplementedTicketsServiceServer
	v2.UnimplementedActionServiceServer
	v2.UnimplementedResourceGetterServiceServer
}

// Every method of every provisioning service, the ones the SDK adds later
// included, is journaled when it fails: a method the wrapper does not
// declare would reach the connector through the embedded interface and
// leave the journal silent.
func TestEveryProvisioningMethodIsJournaledWhenItFails(t *testing.T) {
	services := []reflect.Type{
		reflect.TypeFor[v2.GrantManagerServiceServer](),
		reflect.TypeFor[v2.ResourceManagerServiceServer](),
		reflect.TypeFor[v2.ResourceDeleterServiceServer](),
		reflect.TypeFor[v2.AccountManagerServiceServer](),
		reflect.TypeFor[v2.CredentialManagerServiceServer](),
	}
	for _, service := range services {
		for i := range service.NumMethod() {
			m := service.Method(i)
			if !m.IsExported() {
				continue
			}
			t.Run(m.Name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "journal")
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv(EnvFile, path)
				srv := reflect.ValueOf(JournalServer(unimplemented{}, Open()))
				out := srv.MethodByName(m.Name).Call([]reflect.Value{
					reflect.ValueOf(context.Background()), reflect.New(m.Type.In(1).Elem()),
				})
				if err, _ := out[1].Interface().(error); status.Code(err) != codes.Unimplemented {
					t.Fatalf("the error did not pass through: %v", err)
				}
				if r, _ := Read(path); !r.Failed || r.FailedRPC != m.Name {
					t.Fatalf("a failed %s is not journaled: %+v", m.Name, r)
				}
			})
		}
	}
}

// Every call that ends a one-shot provisioning task is journaled, so that
// a failed one can never exit 0 through the SDK's exit race.
func TestEveryProvisioningCallIsJournaled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvFile, path)
	srv := JournalServer(refusing{}, Open())
	ctx := context.Background()
	if _, err := srv.Grant(ctx, &v2.GrantManagerServiceGrantRequest{}); err != nil {
		t.Fatal(err)
	}
	if r, _ := Read(path); !r.Done {
		t.Fatalf("a successful grant is not journaled: %v", r)
	}
	if _, err := srv.RotateCredential(ctx, &v2.RotateCredentialRequest{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("the error did not pass through: %v", err)
	}
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Failed || r.FailedRPC != "RotateCredential" || r.FailCode != int(codes.Unimplemented) {
		t.Fatalf("a failed credential rotation is not journaled: %v", r)
	}
	if code, _ := Verdict(0, Records{Task: TaskProvision, Failed: r.Failed, FailCode: r.FailCode, FailedRPC: r.FailedRPC}, Written); code == 0 {
		t.Fatal("a failed rotation would exit 0 after the SDK's exit race")
	}
}

package outcome

import (
	"context"
	"os"
	"path/filepath"
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

package c1sim

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"github.com/conductorone/baton-sdk/pkg/crypto/providers/jwk"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// TaskState is where a task is in its life.
type TaskState string

// The states of a task.
const (
	// TaskQueued waits for a GetTask/GetTasks to hand it out.
	TaskQueued TaskState = "queued"
	// TaskTaken was handed out and not finished yet.
	TaskTaken TaskState = "taken"
	// TaskFinished got a FinishTask.
	TaskFinished TaskState = "finished"
)

// Hello is one Hello call.
type Hello struct {
	At time.Time
	// HostID is the connector's host id (os.Hostname or BATON_HOST_ID).
	HostID string
	// TaskID is set when the Hello answers a Hello task.
	TaskID            string
	BuildInfo         *v1.BatonServiceHelloRequest_BuildInfo
	OSInfo            *v1.BatonServiceHelloRequest_OSInfo
	ConnectorMetadata *v2.ConnectorMetadata
	// Capabilities are ConnectorMetadata's capabilities (the SDK's
	// connector builder fills them in GetMetadata).
	Capabilities *v2.ConnectorCapabilities
	Annotations  []*anypb.Any
	// UserAgent is the gRPC user agent ("NAME baton-sdk/VERSION grpc-go/...").
	UserAgent string
}

// Finished is what a FinishTask reported.
type Finished struct {
	At     time.Time
	TaskID string
	HostID string
	// Success is the final state: Success or Error.
	Success bool
	// Code and Message are the reported google.rpc.Status (codes.OK and ""
	// on success, where the SDK sends no status).
	Code    codes.Code
	Message string
	// Details are the status details (e.g. a typed ErrorInfo).
	Details []*anypb.Any
	// NonRetryable is the Error state's flag: the SDK sets it when the
	// error wraps c1api.ErrTaskNonRetryable (grant, revoke, create account,
	// delete resource and rotate credentials failures do).
	NonRetryable bool
	// Annotations of the final state.
	Annotations []*anypb.Any
	// Response is the connector's response (e.g. a
	// c1.connector.v2.GrantManagerServiceGrantResponse), if any.
	Response *anypb.Any
	// Request is the FinishTask request as received.
	Request *v1.BatonServiceFinishTaskRequest
}

// Err is nil for a success, else the reported status as an error.
func (f *Finished) Err() error {
	if f.Success {
		return nil
	}
	if f.Request.GetStatus() == nil || f.Code == codes.OK {
		return fmt.Errorf("c1sim: task %s failed with status %q", f.TaskID, f.Message)
	}
	return status.ErrorProto(f.Request.GetStatus())
}

// UnmarshalResponse decodes Response into m.
func (f *Finished) UnmarshalResponse(m proto.Message) error {
	if f.Response == nil {
		return errors.New("c1sim: the task finished without a response")
	}
	return f.Response.UnmarshalTo(m)
}

// Upload is one asset uploaded with UploadAsset and verified against its
// sha256 trailer.
type Upload struct {
	At     time.Time
	TaskID string
	HostID string
	// Seq numbers the task's uploads from 1. A full sync uploads its c1z
	// first, then, if TempDir/debug.log exists, that file.
	Seq int
	// Path is the uploaded bytes, byte for byte.
	Path   string
	Size   int64
	SHA256 []byte
	// Chunks is how many data messages carried it (the SDK sends 512 KiB
	// chunks).
	Chunks int
}

// TaskInfo is a task and what happened to it.
type TaskInfo struct {
	ID string
	// Type names the task's oneof field ("sync_full", "grant", ...).
	Type       string
	Task       *v1.Task
	State      TaskState
	EnqueuedAt time.Time
	TakenAt    time.Time
	TakenBy    string
	// Handouts counts how often the task was handed out: more than once
	// when it was reclaimed (Options.ReclaimAfter).
	Handouts      int
	Heartbeats    int
	LastHeartbeat time.Time
	// CancelRequested is set by CancelTask.
	CancelRequested bool
	// Hellos counts Hello calls that named the task.
	Hellos int
	// Finishes lists every FinishTask for the task, in order (the SDK
	// sends one).
	Finishes []*Finished
	Uploads  []Upload
}

type taskState struct {
	task          *v1.Task
	state         TaskState
	enqueuedAt    time.Time
	takenAt       time.Time
	takenBy       string
	handouts      int
	heartbeats    int
	lastHeartbeat time.Time
	cancel        bool
	hellos        int
	finishes      []*Finished
	uploads       []Upload
	uploadSeq     int
}

func (t *taskState) info() TaskInfo {
	return TaskInfo{
		ID:              t.task.GetId(),
		Type:            taskType(t.task),
		Task:            proto.CloneOf(t.task),
		State:           t.state,
		EnqueuedAt:      t.enqueuedAt,
		TakenAt:         t.takenAt,
		TakenBy:         t.takenBy,
		Handouts:        t.handouts,
		Heartbeats:      t.heartbeats,
		LastHeartbeat:   t.lastHeartbeat,
		CancelRequested: t.cancel,
		Hellos:          t.hellos,
		Finishes:        append([]*Finished(nil), t.finishes...),
		Uploads:         append([]Upload(nil), t.uploads...),
	}
}

func taskType(t *v1.Task) string {
	oneof := t.ProtoReflect().Descriptor().Oneofs().ByName("task_type")
	if oneof == nil {
		return ""
	}
	fd := t.ProtoReflect().WhichOneof(oneof)
	if fd == nil {
		return ""
	}
	return string(fd.Name())
}

// Enqueue queues any task and returns its id. An empty id is replaced by a
// new one (NewTaskID); a given id must be 27 letters and digits, the shape
// the SDK's requests carry back.
func (s *Server) Enqueue(task *v1.Task) string {
	t := proto.CloneOf(task)
	if t.GetId() == "" {
		t.SetId(NewTaskID())
	}
	if t.GetStatus() == v1.Task_STATUS_UNSPECIFIED {
		t.SetStatus(v1.Task_STATUS_PENDING)
	}
	id := t.GetId()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.tasks[id]; dup {
		panic(fmt.Sprintf("c1sim: task %s enqueued twice", id))
	}
	s.tasks[id] = &taskState{task: t, state: TaskQueued, enqueuedAt: time.Now()}
	s.order = append(s.order, id)
	s.queue = append(s.queue, id)
	s.notifyLocked()
	return id
}

// FullSync shapes a full sync task (Task.SyncFullTask). The SDK
// (pkg/tasks/c1api/full_sync.go) syncs into a temporary c1z in its temp dir,
// heartbeats while it runs, uploads the c1z, then TempDir/debug.log if it
// exists, and finishes the task with no response.
type FullSync struct {
	// SkipExpandGrants leaves grant expansion to ConductorOne
	// (sync.WithDontExpandGrants).
	SkipExpandGrants bool
	// SkipEntitlementsAndGrants syncs resources only.
	SkipEntitlementsAndGrants bool
	// SkipGrants syncs resources and entitlements.
	SkipGrants bool
	// TargetedResources makes a targeted sync of these resources.
	TargetedResources []*v2.Resource
	// ResourceTypeIDs limits the sync to these resource types.
	ResourceTypeIDs []string
	// StorageEngine is "", "pebble" or "sqlite".
	StorageEngine string
	// Debug asks the runner for a debug log in TempDir/debug.log, which the
	// sync then uploads and deletes.
	Debug bool
}

// EnqueueFullSync queues a full sync task.
func (s *Server) EnqueueFullSync(fs FullSync) string {
	return s.Enqueue(v1.Task_builder{
		Debug: fs.Debug,
		SyncFull: v1.Task_SyncFullTask_builder{
			SkipExpandGrants:          fs.SkipExpandGrants,
			SkipEntitlementsAndGrants: fs.SkipEntitlementsAndGrants,
			SkipGrants:                fs.SkipGrants,
			TargetedSyncResources:     fs.TargetedResources,
			SyncResourceTypeIds:       fs.ResourceTypeIDs,
			StorageEngine:             fs.StorageEngine,
		}.Build(),
	}.Build())
}

// EnqueueGrant queues a grant task: the SDK calls the connector's Grant with
// the entitlement and the principal as given, and finishes with the
// GrantManagerServiceGrantResponse. ConductorOne sends them as they were
// synced, so the entitlement carries its resource (with the resource's
// parent id) and the principal its id (and parent id).
func (s *Server) EnqueueGrant(entitlement *v2.Entitlement, principal *v2.Resource) string {
	return s.Enqueue(v1.Task_builder{Grant: v1.Task_GrantTask_builder{
		Entitlement: entitlement,
		Principal:   principal,
	}.Build()}.Build())
}

// EnqueueRevoke queues a revoke task: the SDK calls the connector's Revoke
// with the grant as given (id, entitlement with its resource, principal) and
// finishes with the GrantManagerServiceRevokeResponse.
func (s *Server) EnqueueRevoke(grant *v2.Grant) string {
	return s.Enqueue(v1.Task_builder{Revoke: v1.Task_RevokeTask_builder{Grant: grant}.Build()}.Build())
}

// EnqueueCreateAccount queues a create account task: the SDK calls the
// connector's CreateAccount with these and finishes with the
// CreateAccountResponse. Credentials the connector returns are encrypted with
// the encryption configs (EncryptionConfig makes one the stand-in can
// decrypt).
func (s *Server) EnqueueCreateAccount(info *v2.AccountInfo, credOpts *v2.CredentialOptions, enc []*v2.EncryptionConfig, resourceTypeID string) string {
	return s.Enqueue(v1.Task_builder{CreateAccount: v1.Task_CreateAccountTask_builder{
		AccountInfo:       info,
		CredentialOptions: credOpts,
		EncryptionConfigs: enc,
		ResourceTypeId:    resourceTypeID,
	}.Build()}.Build())
}

// EnqueueDeleteResource queues a delete resource task: the SDK calls the
// connector's DeleteResource and finishes with the DeleteResourceResponse.
// The SDK rejects a task without a resource id, type and resource
// (non-retryable "malformed delete resource task").
func (s *Server) EnqueueDeleteResource(id, parent *v2.ResourceId) string {
	return s.Enqueue(v1.Task_builder{DeleteResource: v1.Task_DeleteResourceTask_builder{
		ResourceId:       id,
		ParentResourceId: parent,
	}.Build()}.Build())
}

// EnqueueRotateCredentials queues a rotate credentials task: the SDK calls
// the connector's RotateCredential and finishes with the
// RotateCredentialResponse, its credentials encrypted with enc.
func (s *Server) EnqueueRotateCredentials(id *v2.ResourceId, credOpts *v2.CredentialOptions, enc []*v2.EncryptionConfig) string {
	return s.Enqueue(v1.Task_builder{RotateCredentials: v1.Task_RotateCredentialsTask_builder{
		ResourceId:        id,
		CredentialOptions: credOpts,
		EncryptionConfigs: enc,
	}.Build()}.Build())
}

// CancelTask makes the task's next heartbeats answer cancelled. The SDK then
// cancels the task's context with c1api.ErrTaskCancelled; a full sync whose
// first heartbeat is answered so returns without FinishTask.
func (s *Server) CancelTask(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tasks[id]; t != nil {
		t.cancel = true
		s.notifyLocked()
	}
}

// Task is the task with this id and what happened to it.
func (s *Server) Task(id string) (TaskInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[id]
	if t == nil {
		return TaskInfo{}, false
	}
	return t.info(), true
}

// Tasks lists every task in the order they were enqueued.
func (s *Server) Tasks() []TaskInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TaskInfo, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.tasks[id].info())
	}
	return out
}

// Hellos lists every Hello call, in order.
func (s *Server) Hellos() []*Hello {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Hello(nil), s.hellos...)
}

// Uploads lists the task's verified uploads, in order.
func (s *Server) Uploads(taskID string) []Upload {
	t, _ := s.Task(taskID)
	return t.Uploads
}

// AllUploads lists every verified upload, task by task.
func (s *Server) AllUploads() []Upload {
	var out []Upload
	for _, t := range s.Tasks() {
		out = append(out, t.Uploads...)
	}
	return out
}

// WaitFinished waits for the task's first FinishTask and returns it.
func (s *Server) WaitFinished(ctx context.Context, id string) (*Finished, error) {
	var f *Finished
	err := s.WaitUntil(ctx, func() bool {
		t, _ := s.Task(id)
		if len(t.Finishes) > 0 {
			f = t.Finishes[0]
		}
		return f != nil
	})
	if err != nil {
		return nil, fmt.Errorf("c1sim: waiting for task %s to finish: %w", id, err)
	}
	return f, nil
}

// WaitHeartbeats waits until the task got at least n heartbeats.
func (s *Server) WaitHeartbeats(ctx context.Context, id string, n int) error {
	return s.WaitUntil(ctx, func() bool {
		t, _ := s.Task(id)
		return t.Heartbeats >= n
	})
}

// WaitHello waits for the nth Hello call (from 1) and returns it.
func (s *Server) WaitHello(ctx context.Context, n int) (*Hello, error) {
	var h *Hello
	err := s.WaitUntil(ctx, func() bool {
		if hs := s.Hellos(); len(hs) >= n {
			h = hs[n-1]
		}
		return h != nil
	})
	if err != nil {
		return nil, fmt.Errorf("c1sim: waiting for Hello #%d: %w", n, err)
	}
	return h, nil
}

// EncryptionConfig is an encryption config ("baton/jwk/v1", an Ed25519
// public key) for create account and rotate credentials tasks, whose private
// key stays with the stand-in: Decrypt opens what the connector encrypted.
func (s *Server) EncryptionConfig() *v2.EncryptionConfig {
	pub, _ := s.encKey.Public().(ed25519.PublicKey)
	pubJWK := `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	return v2.EncryptionConfig_builder{
		Provider: jwk.EncryptionProviderJwk,
		KeyId:    jwkThumbprint(pub),
		JwkPublicKeyConfig: v2.EncryptionConfig_JWKPublicKeyConfig_builder{
			PubKey: []byte(pubJWK),
		}.Build(),
	}.Build()
}

// Decrypt opens data the connector encrypted for EncryptionConfig.
func (s *Server) Decrypt(data *v2.EncryptedData) ([]byte, error) {
	if p := data.GetProvider(); p != jwk.EncryptionProviderJwk {
		return nil, fmt.Errorf("c1sim: encrypted with provider %q, not %q", p, jwk.EncryptionProviderJwk)
	}
	ct, err := base64.StdEncoding.DecodeString(string(data.GetEncryptedBytes()))
	if err != nil {
		return nil, fmt.Errorf("c1sim: encrypted bytes are not base64: %w", err)
	}
	return jwk.DecryptED25519(s.encKey, ct)
}

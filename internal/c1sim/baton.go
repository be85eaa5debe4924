package c1sim

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// gate runs before every BatonService call: it counts the call, answers an
// injected failure, then requires a live bearer access token.
func (s *Server) gate(ctx context.Context, fullMethod string) error {
	method := methodName(fullMethod)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countLocked(method)
	if f := s.takeRPCFailureLocked(method); f != nil {
		s.stats.RPCFailuresInjected++
		return status.Errorf(f.code, "c1sim: injected failure of %s", method)
	}
	unauth := func(why string) error {
		s.stats.Unauthenticated++
		return status.Error(codes.Unauthenticated, "c1sim: "+why)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	auth := md.Get("authorization")
	if len(auth) != 1 {
		return unauth(fmt.Sprintf("%d authorization headers, want 1", len(auth)))
	}
	scheme, token, _ := strings.Cut(auth[0], " ")
	if !strings.EqualFold(scheme, "bearer") || token == "" {
		return unauth("authorization is not a bearer token")
	}
	exp, ok := s.tokens[token]
	if !ok {
		return unauth("unknown or revoked access token")
	}
	if !time.Now().Before(exp) {
		return unauth("access token expired")
	}
	return nil
}

// validate applies the proto's validation rules (protoc-gen-validate), as
// ConductorOne does.
func (s *Server) validate(m any) error {
	v, ok := m.(interface{ Validate() error })
	if !ok {
		return nil
	}
	if err := v.Validate(); err != nil {
		s.mu.Lock()
		s.stats.InvalidArgument++
		s.mu.Unlock()
		return status.Errorf(codes.InvalidArgument, "c1sim: invalid %T: %v", m, err)
	}
	return nil
}

// outcome notes a call's answer in its record.
func (s *Server) outcome(ctx context.Context, err error) {
	rec, _ := ctx.Value(recordKey{}).(*Record)
	if rec == nil {
		return
	}
	st := status.Convert(err)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.handled = true
	rec.Status = int(st.Code())
	if err != nil {
		rec.Note = st.Message()
	}
	s.notifyLocked()
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	err := s.gate(ctx, info.FullMethod)
	if err == nil {
		err = s.validate(req)
	}
	var resp any
	if err == nil {
		resp, err = handler(ctx, req)
	}
	s.outcome(ctx, err)
	return resp, err
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := s.gate(ss.Context(), info.FullMethod)
	if err == nil {
		err = handler(srv, ss)
	}
	s.outcome(ss.Context(), err)
	return err
}

// batonService implements c1.connectorapi.baton.v1.BatonService.
type batonService struct {
	v1.UnimplementedBatonServiceServer
	s *Server
}

func userAgent(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	return strings.Join(md.Get("user-agent"), " ")
}

func (b *batonService) Hello(ctx context.Context, req *v1.BatonServiceHelloRequest) (*v1.BatonServiceHelloResponse, error) {
	s := b.s
	h := &Hello{
		At:                time.Now(),
		HostID:            req.GetHostId(),
		TaskID:            req.GetTaskId(),
		BuildInfo:         req.GetBuildInfo(),
		OSInfo:            req.GetOsInfo(),
		ConnectorMetadata: req.GetConnectorMetadata(),
		Capabilities:      req.GetConnectorMetadata().GetCapabilities(),
		Annotations:       req.GetAnnotations(),
		UserAgent:         userAgent(ctx),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id := req.GetTaskId(); id != "" {
		t := s.tasks[id]
		if t == nil {
			return nil, status.Errorf(codes.NotFound, "c1sim: Hello names unknown task %s", id)
		}
		t.hellos++
	}
	s.hellos = append(s.hellos, h)
	s.notifyLocked()
	return &v1.BatonServiceHelloResponse{}, nil
}

// takeLocked hands out the first queued task. (A task the connector already
// knows, GetTasks' known_task_ids, was handed out, so it is queued no more.)
func (s *Server) takeLocked(hostID string) *v1.Task {
	id, ok := s.abandonedLocked()
	if !ok {
		if len(s.queue) == 0 {
			return nil
		}
		id = s.queue[0]
		s.queue = s.queue[1:]
	}
	t := s.tasks[id]
	t.state, t.takenAt, t.takenBy = TaskTaken, time.Now(), hostID
	t.handouts++
	out := proto.CloneOf(t.task)
	out.SetStatus(v1.Task_STATUS_SCHEDULED)
	s.notifyLocked()
	return out
}

// abandonedLocked finds the first taken task whose connector has been
// silent for ReclaimAfter: no heartbeat since it was taken or since the
// last one.
func (s *Server) abandonedLocked() (string, bool) {
	if s.opts.ReclaimAfter <= 0 {
		return "", false
	}
	for _, id := range s.order {
		t := s.tasks[id]
		if t.state != TaskTaken || t.cancel {
			continue
		}
		if time.Since(latest(t.takenAt, t.lastHeartbeat)) > s.opts.ReclaimAfter {
			return id, true
		}
	}
	return "", false
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (b *batonService) GetTask(_ context.Context, req *v1.BatonServiceGetTaskRequest) (*v1.BatonServiceGetTaskResponse, error) {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	return v1.BatonServiceGetTaskResponse_builder{
		Task:          s.takeLocked(req.GetHostId()),
		NextPoll:      durationpb.New(s.pollInterval),
		NextHeartbeat: durationpb.New(s.heartbeatInterval),
	}.Build(), nil
}

func (b *batonService) GetTasks(_ context.Context, req *v1.BatonServiceGetTasksRequest) (*v1.BatonServiceGetTasksResponse, error) {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var tasks []*v1.Task
	for range req.GetPageSize() {
		t := s.takeLocked(req.GetHostId())
		if t == nil {
			break
		}
		tasks = append(tasks, t)
	}
	return v1.BatonServiceGetTasksResponse_builder{
		Tasks:         tasks,
		NextPoll:      durationpb.New(s.pollInterval),
		NextHeartbeat: durationpb.New(s.heartbeatInterval),
	}.Build(), nil
}

func (b *batonService) Heartbeat(_ context.Context, req *v1.BatonServiceHeartbeatRequest) (*v1.BatonServiceHeartbeatResponse, error) {
	s := b.s
	ids := req.GetTaskIds()
	if id := req.GetTaskId(); id != "" {
		ids = append([]string{id}, ids...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if s.tasks[id] == nil {
			return nil, status.Errorf(codes.NotFound, "c1sim: heartbeat for unknown task %s", id)
		}
	}
	var cancelled []string
	now := time.Now()
	for _, id := range ids {
		t := s.tasks[id]
		t.heartbeats++
		t.lastHeartbeat = now
		if t.cancel {
			cancelled = append(cancelled, id)
		}
	}
	s.notifyLocked()
	id := req.GetTaskId()
	return v1.BatonServiceHeartbeatResponse_builder{
		NextHeartbeat:    durationpb.New(s.heartbeatInterval),
		Cancelled:        id != "" && s.tasks[id].cancel,
		CancelledTaskIds: cancelled,
	}.Build(), nil
}

func (b *batonService) FinishTask(_ context.Context, req *v1.BatonServiceFinishTaskRequest) (*v1.BatonServiceFinishTaskResponse, error) {
	s := b.s
	f := &Finished{
		At:      time.Now(),
		TaskID:  req.GetTaskId(),
		HostID:  req.GetHostId(),
		Success: req.HasSuccess(),
		Request: proto.CloneOf(req),
	}
	if st := req.GetStatus(); st != nil {
		f.Code = codes.Code(uint32(st.GetCode())) //nolint:gosec // A gRPC code sent by the client; codes.Code prints any value.
		f.Message = st.GetMessage()
		f.Details = st.GetDetails()
	}
	if req.HasSuccess() {
		f.Annotations = req.GetSuccess().GetAnnotations()
		f.Response = req.GetSuccess().GetResponse()
	} else {
		f.NonRetryable = req.GetError().GetNonRetryable()
		f.Annotations = req.GetError().GetAnnotations()
		f.Response = req.GetError().GetResponse()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[req.GetTaskId()]
	if t == nil {
		return nil, status.Errorf(codes.NotFound, "c1sim: FinishTask for unknown task %s", req.GetTaskId())
	}
	t.state = TaskFinished
	t.finishes = append(t.finishes, f)
	s.notifyLocked()
	return &v1.BatonServiceFinishTaskResponse{}, nil
}

// uploadStream is the server side of an UploadAsset call.
type uploadStream = grpc.ClientStreamingServer[v1.BatonServiceUploadAssetRequest, v1.BatonServiceUploadAssetResponse]

// UploadAsset receives one asset: a metadata message naming the task, data
// chunks, and an EOF message with the sha256 of the whole. The bytes are
// kept in UploadDir()/TASKID.N once the checksum matches.
func (b *batonService) UploadAsset(stream uploadStream) error {
	s := b.s
	md, err := s.receiveUploadMetadata(stream)
	if err != nil {
		return err
	}
	taskID := md.GetTaskId()
	t, seq, err := s.nextUploadSeq(taskID)
	if err != nil {
		return err
	}
	p, err := newPartialUpload(s.uploadDir, taskID)
	if err != nil {
		return err
	}
	defer p.discard()
	eof, err := s.receiveUploadData(stream, p)
	if err != nil {
		return err
	}
	path := filepath.Join(s.uploadDir, fmt.Sprintf("%s.%d", taskID, seq))
	sum, err := p.keep(eof.GetSha256Checksum(), path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	t.uploads = append(t.uploads, Upload{
		At: time.Now(), TaskID: taskID, HostID: md.GetHostId(), Seq: seq,
		Path: path, Size: p.size, SHA256: sum, Chunks: p.chunks,
	})
	s.notifyLocked()
	s.mu.Unlock()
	return stream.SendAndClose(&v1.BatonServiceUploadAssetResponse{})
}

// receiveUploadMetadata reads the first message of an upload, which must be
// the metadata naming the task.
func (s *Server) receiveUploadMetadata(stream uploadStream) (*v1.BatonServiceUploadAssetRequest_UploadMetadata, error) {
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil, status.Error(codes.InvalidArgument, "c1sim: empty upload stream")
	}
	if err != nil {
		return nil, err
	}
	if err := s.validate(first); err != nil {
		return nil, err
	}
	md := first.GetMetadata()
	if md == nil {
		return nil, status.Error(codes.InvalidArgument, "c1sim: the first upload message must be metadata")
	}
	return md, nil
}

// nextUploadSeq numbers a new upload of a known task from 1, so that every
// upload of the task keeps a file of its own.
func (s *Server) nextUploadSeq(taskID string) (*taskState, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[taskID]
	if t == nil {
		return nil, 0, status.Errorf(codes.NotFound, "c1sim: upload for unknown task %s", taskID)
	}
	t.uploadSeq++
	return t, t.uploadSeq, nil
}

// receiveUploadData writes the data messages of an upload to p until the
// EOF message, which it returns.
func (s *Server) receiveUploadData(stream uploadStream, p *partialUpload) (*v1.BatonServiceUploadAssetRequest_UploadEOF, error) {
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, status.Error(codes.InvalidArgument, "c1sim: upload stream ended without an EOF message")
		}
		if err != nil {
			return nil, err
		}
		if err := s.validate(msg); err != nil {
			return nil, err
		}
		switch {
		case msg.HasData():
			if err := p.write(msg.GetData().GetData()); err != nil {
				return nil, err
			}
		case msg.HasEof():
			return msg.GetEof(), nil
		default:
			return nil, status.Error(codes.InvalidArgument, "c1sim: a second metadata message in one upload")
		}
	}
}

// partialUpload is an asset being received: a temporary file that only
// takes its final name once the checksum matches, so that UploadDir never
// shows a torn or corrupt upload.
type partialUpload struct {
	f      *os.File
	h      hash.Hash
	w      io.Writer
	size   int64
	chunks int
	kept   bool
}

func newPartialUpload(dir, taskID string) (*partialUpload, error) {
	f, err := os.CreateTemp(dir, ".partial-"+taskID+"-*")
	if err != nil {
		return nil, status.Errorf(codes.Internal, "c1sim: %v", err)
	}
	h := sha256.New()
	return &partialUpload{f: f, h: h, w: io.MultiWriter(f, h)}, nil
}

// write appends one data chunk.
func (p *partialUpload) write(data []byte) error {
	n, err := p.w.Write(data)
	if err != nil {
		return status.Errorf(codes.Internal, "c1sim: %v", err)
	}
	p.size += int64(n)
	p.chunks++
	return nil
}

// keep moves the upload to path if its sha256 is want, and returns the sum.
func (p *partialUpload) keep(want []byte, path string) ([]byte, error) {
	sum := p.h.Sum(nil)
	if subtle.ConstantTimeCompare(sum, want) != 1 {
		return nil, status.Errorf(codes.InvalidArgument, "c1sim: upload sha256 %x does not match the EOF checksum %x", sum, want)
	}
	if err := p.f.Close(); err != nil {
		return nil, status.Errorf(codes.Internal, "c1sim: %v", err)
	}
	if err := os.Rename(p.f.Name(), path); err != nil {
		return nil, status.Errorf(codes.Internal, "c1sim: %v", err)
	}
	p.kept = true
	return sum, nil
}

// discard removes the temporary file unless keep moved it.
func (p *partialUpload) discard() {
	if !p.kept {
		_ = p.f.Close()
		_ = os.Remove(p.f.Name())
	}
}

func (b *batonService) StartDebugging(context.Context, *v1.StartDebuggingRequest) (*v1.StartDebuggingResponse, error) {
	return v1.StartDebuggingResponse_builder{Status: true}.Build(), nil
}

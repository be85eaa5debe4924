package c1sim

import (
	"strings"

	"google.golang.org/grpc/codes"
)

// Stats counts what the stand-in received. Every request counts, also one
// that was then failed on purpose or rejected.
type Stats struct {
	// TokenRequests counts requests to the token endpoint.
	TokenRequests int
	// TokensIssued counts access tokens handed out.
	TokensIssued int
	// TokenRejected counts token requests refused for a bad request or a
	// bad client assertion (400/401/405).
	TokenRejected int
	// TokenFailuresInjected counts token requests failed by FailToken.
	TokenFailuresInjected int

	// Hello, GetTask, GetTasks, Heartbeat, FinishTask, UploadAsset and
	// StartDebugging count the BatonService calls of each method.
	Hello          int
	GetTask        int
	GetTasks       int
	Heartbeat      int
	FinishTask     int
	UploadAsset    int
	StartDebugging int

	// Unauthenticated counts calls refused for a missing, unknown, expired
	// or revoked access token.
	Unauthenticated int
	// InvalidArgument counts calls refused because the request failed the
	// proto's validation rules.
	InvalidArgument int
	// RPCFailuresInjected counts calls failed by FailRPC.
	RPCFailuresInjected int
	// ConnectionsDropped counts connections closed by SetUnreachable.
	ConnectionsDropped int
}

// Stats is a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Server) countLocked(method string) {
	switch method {
	case "Hello":
		s.stats.Hello++
	case "GetTask":
		s.stats.GetTask++
	case "GetTasks":
		s.stats.GetTasks++
	case "Heartbeat":
		s.stats.Heartbeat++
	case "FinishTask":
		s.stats.FinishTask++
	case "UploadAsset":
		s.stats.UploadAsset++
	case "StartDebugging":
		s.stats.StartDebugging++
	}
}

// Forever is the count that makes a failure last until it is cleared.
const Forever = -1

type tokenFailure struct {
	status    int
	remaining int
}

// FailToken makes the next n token requests answer the HTTP status (n =
// Forever: until ClearTokenFailures). The SDK turns any answer but 200 into
// the gRPC code Unauthenticated ("failed to get token: 503 Service
// Unavailable") for the RPC that needed the token. Rules queue: the first
// with calls left answers.
func (s *Server) FailToken(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFailures = append(s.tokenFailures, &tokenFailure{status: status, remaining: n})
}

// ClearTokenFailures ends every FailToken rule.
func (s *Server) ClearTokenFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFailures = nil
}

// takeTokenFailure consumes one call of the first live rule and returns its
// status, or 0.
func takeTokenFailure(rules *[]*tokenFailure) int {
	for len(*rules) > 0 {
		f := (*rules)[0]
		if f.remaining == 0 {
			*rules = (*rules)[1:]
			continue
		}
		if f.remaining > 0 {
			f.remaining--
		}
		return f.status
	}
	return 0
}

type rpcFailure struct {
	code      codes.Code
	remaining int
	methods   map[string]bool
}

// FailRPC makes the next n BatonService calls of the given methods ("Hello",
// "GetTask", "Heartbeat", ...; none: every method) answer the gRPC code,
// before the access token is checked (n = Forever: until ClearRPCFailures).
// Rules queue: the first live rule that names the method answers.
func (s *Server) FailRPC(code codes.Code, n int, methods ...string) {
	f := &rpcFailure{code: code, remaining: n}
	if len(methods) > 0 {
		f.methods = map[string]bool{}
		for _, m := range methods {
			f.methods[methodName(m)] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rpcFailures = append(s.rpcFailures, f)
}

// ClearRPCFailures ends every FailRPC rule.
func (s *Server) ClearRPCFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rpcFailures = nil
}

func (s *Server) takeRPCFailureLocked(method string) *rpcFailure {
	live := s.rpcFailures[:0]
	var hit *rpcFailure
	for _, f := range s.rpcFailures {
		if f.remaining == 0 {
			continue
		}
		if hit == nil && (f.methods == nil || f.methods[method]) {
			hit = f
			if f.remaining > 0 {
				f.remaining--
			}
		}
		live = append(live, f)
	}
	s.rpcFailures = live
	return hit
}

// methodName is the last element of a gRPC method name.
func methodName(full string) string {
	return full[strings.LastIndex(full, "/")+1:]
}

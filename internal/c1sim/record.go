package c1sim

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// RecordKind tells what kind of request a Record is.
type RecordKind string

// The kinds of Record.
const (
	// KindHTTP is an HTTP request that is not gRPC: the token exchange,
	// or a request for a path the stand-in does not serve.
	KindHTTP RecordKind = "http"
	// KindGRPC is a call of the BatonService.
	KindGRPC RecordKind = "grpc"
)

// Record is one request the stand-in received, as it arrived (after TLS).
type Record struct {
	// Seq numbers the records from 1 in the order the requests arrived.
	Seq int
	// At is when the request arrived.
	At time.Time
	// Kind tells a gRPC call from a plain HTTP request.
	Kind RecordKind
	// Method is "POST /auth/v1/token" for HTTP, the full gRPC method
	// (/c1.connectorapi.baton.v1.BatonService/Hello) for gRPC.
	Method string
	// Host is the request's :authority (Host header).
	Host string
	// Header holds the request headers; for gRPC, its metadata
	// (authorization, user-agent, grpc-timeout, ...).
	Header http.Header
	// Body is the request body as received: the form of a token request,
	// the length-prefixed protobuf messages of a gRPC call. Protobuf keeps
	// strings (also inside Any annotations) verbatim, so a search of the body
	// finds any string the client sent.
	Body []byte
	// Truncated is set when Body was cut at maxRecordBody: only uploads are
	// that long, and Search reads those whole from UploadDir.
	Truncated bool
	// Status is the HTTP status of a token request, or the gRPC code of a
	// call (codes.OK is 0).
	Status int
	// Note says why a request was rejected, or what it achieved.
	Note string

	handled bool
	done    bool
}

// Code is Status as a gRPC code (for KindGRPC records).
func (r *Record) Code() codes.Code {
	return codes.Code(uint32(r.Status)) //nolint:gosec // Status holds a gRPC code for gRPC records.
}

func (r *Record) statusText() string {
	if r.Kind == KindGRPC {
		return r.Code().String()
	}
	return fmt.Sprint(r.Status)
}

type recordKey struct{}

func (s *Server) newRecord(r *http.Request) *Record {
	rec := &Record{
		At:     time.Now(),
		Kind:   KindHTTP,
		Method: r.Method + " " + r.URL.RequestURI(),
		Host:   r.Host,
		Header: r.Header.Clone(),
	}
	if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		rec.Kind = KindGRPC
		rec.Method = r.URL.Path
		rec.Status = int(codes.Unknown)
	}
	s.mu.Lock()
	rec.Seq = len(s.records) + 1
	s.records = append(s.records, rec)
	s.notifyLocked()
	s.mu.Unlock()
	return rec
}

// maxRecordBody bounds the bytes of one request body kept in memory, so
// that a soak of many uploads does not keep each c1z twice.
const maxRecordBody = 1 << 20

// teeBody keeps what is read from a request body in its record.
type teeBody struct {
	io.ReadCloser
	s   *Server
	rec *Record
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if n > 0 {
		t.s.mu.Lock()
		room := maxRecordBody - len(t.rec.Body)
		switch {
		case room >= n:
			t.rec.Body = append(t.rec.Body, p[:n]...)
		case room > 0:
			t.rec.Body = append(t.rec.Body, p[:room]...)
			t.rec.Truncated = true
		default:
			t.rec.Truncated = true
		}
		t.s.mu.Unlock()
	}
	return n, err
}

// Records is a copy of every request received so far, in arrival order. A
// request still in flight may not have its whole body yet.
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.records))
	for _, r := range s.records {
		c := *r
		c.Header = r.Header.Clone()
		c.Body = append([]byte(nil), r.Body...)
		out = append(out, c)
	}
	return out
}

// Hit is one place a Search found its needle.
type Hit struct {
	// Seq is the record's Seq; 0 for an uploaded file.
	Seq int
	// Method is the record's Method, or "upload" for an uploaded file.
	Method string
	// Where is "host", "path", "header <Name>", "body", or the path of an
	// uploaded file.
	Where string
}

func (h Hit) String() string {
	if h.Seq == 0 {
		return fmt.Sprintf("%s %s", h.Method, h.Where)
	}
	return fmt.Sprintf("#%d %s: %s", h.Seq, h.Method, h.Where)
}

// Search looks for needle in everything received: every record's host,
// path, headers and body, and the bytes of every uploaded file. An uploaded
// c1z is compressed, so a thorough check of a sync's data must also open the
// c1z (Upload.Path) and look inside.
func (s *Server) Search(needle string) []Hit {
	if needle == "" {
		return nil
	}
	n := []byte(needle)
	var hits []Hit
	for _, r := range s.Records() {
		if strings.Contains(r.Host, needle) {
			hits = append(hits, Hit{Seq: r.Seq, Method: r.Method, Where: "host"})
		}
		if strings.Contains(r.Method, needle) {
			hits = append(hits, Hit{Seq: r.Seq, Method: r.Method, Where: "path"})
		}
		for name, vals := range r.Header {
			for _, v := range vals {
				if strings.Contains(v, needle) || strings.Contains(name, needle) {
					hits = append(hits, Hit{Seq: r.Seq, Method: r.Method, Where: "header " + name})
				}
			}
		}
		if bytes.Contains(r.Body, n) {
			hits = append(hits, Hit{Seq: r.Seq, Method: r.Method, Where: "body"})
		}
	}
	for _, u := range s.AllUploads() {
		b, err := os.ReadFile(u.Path)
		if err == nil && bytes.Contains(b, n) {
			hits = append(hits, Hit{Method: "upload", Where: u.Path})
		}
	}
	return hits
}

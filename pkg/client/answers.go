package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/uhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Reading an answer: a 2xx body is decoded into the call's result, an error
// status becomes a gRPC status error that keeps Tray's own message, and a
// write answered with something that is not JSON is unconfirmed.

// read turns an HTTP answer into the outcome of an attempt. doErr is what
// uhttp returned with the response (its error for a non-2xx status).
func (r request) read(resp *http.Response, body []byte, doErr error) attempt {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if r.final != nil {
			if err := r.final(resp.StatusCode, body); err != nil {
				return attempt{answered: true, err: err}
			}
		}
		a := attempt{answered: true, err: httpError(doErr, r.route, resp, body)}
		if resp.StatusCode == http.StatusTooManyRequests {
			a.throttled = true
			a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return a
	}
	if doErr != nil {
		return attempt{answered: true, err: annotate(doErr, r.route, "read response")}
	}
	return attempt{answered: true, err: decodeAnswer(r.route, resp.Header.Get("Content-Type"), body, r.out)}
}

// trayError is Tray's documented error body.
type trayError struct {
	Message string  `json:"message"`
	Code    *string `json:"code,omitempty"`
}

// decodeAnswer decodes a 2xx body into out. Writes answer {} or nothing
// (the spec is not consistent) and a read with an empty body is an empty
// page. Anything that is not JSON is an error naming the endpoint: for a
// read it is Unavailable, because a proxy hiccup is the usual cause; for a
// write it is unconfirmed, because whoever sent that page may or may not
// have let the write through.
func decodeAnswer(r route, contentType string, body []byte, out any) error {
	endpoint := r.String()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if r.method != http.MethodGet && !isJSON(contentType) {
		return unconfirmed(status.New(codes.Unavailable, fmt.Sprintf(
			"%s: Tray.ai's answer is not JSON (%q, %s), so the change is unconfirmed; a proxy or the wrong --base-url may be in the way",
			endpoint, contentType, snippet(body))))
	}
	if out == nil {
		return nil
	}
	if !isJSON(contentType) {
		return status.Errorf(codes.Unavailable,
			"%s: expected a JSON answer, got %q (%s); a proxy or the wrong --base-url may be in the way",
			endpoint, contentType, snippet(body))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return status.Errorf(codes.Unavailable, "%s: malformed JSON from Tray.ai: %v (%s)", endpoint, oneLine(err.Error()), snippet(body))
	}
	return nil
}

// httpError turns a non-2xx answer into an error that keeps uhttp's gRPC
// code and rate-limit detail and shows Tray's own message.
func httpError(uerr error, r route, resp *http.Response, body []byte) error {
	code := uhttp.GrpcCodeFromHTTPStatus(resp.StatusCode)
	if uerr != nil {
		if c := status.Code(uerr); c != codes.Unknown && c != codes.OK {
			code = c
		}
	}
	msg := ""
	var te trayError
	if isJSON(resp.Header.Get("Content-Type")) && json.Unmarshal(body, &te) == nil && te.Message != "" {
		msg = bounded(strings.Join(strings.Fields(te.Message), " "))
		if te.Code != nil && *te.Code != "" {
			msg += " (code " + bounded(*te.Code) + ")"
		}
	} else if len(bytes.TrimSpace(body)) > 0 {
		msg = snippet(body)
	}
	text := fmt.Sprintf("%s: Tray.ai answered %s", r, resp.Status)
	if msg != "" {
		text += ": " + msg
	}
	st := status.New(code, text)
	// Only a 429 is rate limiting: the detail makes the SDK wait and retry.
	if resp.StatusCode == http.StatusTooManyRequests {
		if d := rateLimitDetail(uerr); d != nil {
			if withD, err := st.WithDetails(d); err == nil {
				st = withD
			}
		}
	}
	return st.Err()
}

// unconfirmedError is a write Tray may or may not have applied.
type unconfirmedError struct{ st *status.Status }

func unconfirmed(st *status.Status) error              { return &unconfirmedError{st: st} }
func (e *unconfirmedError) Error() string              { return e.st.Err().Error() }
func (e *unconfirmedError) GRPCStatus() *status.Status { return e.st }

// IsUnconfirmed reports a write answered with 2xx and a body that is not
// JSON: the caller must read Tray's state to know whether it happened.
func IsUnconfirmed(err error) bool {
	var u *unconfirmedError
	return errors.As(err, &u)
}

func rateLimitDetail(err error) *v2.RateLimitDescription {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if rl, ok := d.(*v2.RateLimitDescription); ok {
			return rl
		}
	}
	return nil
}

// annotate prefixes a transport error with the endpoint while keeping its code.
func annotate(err error, r route, what string) error {
	st := status.Convert(err)
	code := st.Code()
	if code == codes.Unknown {
		code = codes.Unavailable
	}
	return status.Errorf(code, "%s: %s: %s", r, what, oneLine(st.Message()))
}

// oneLine flattens joined errors and drops nested "rpc error" prefixes, so
// every error a user sees is one readable line.
func oneLine(s string) string {
	parts := strings.Split(s, "\n")
	seen := map[string]bool{}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		for {
			i := strings.Index(p, "rpc error: code = ")
			if i < 0 {
				break
			}
			j := strings.Index(p[i:], " desc = ")
			if j < 0 {
				break
			}
			p = p[:i] + p[i+j+len(" desc = "):]
		}
		p = strings.TrimSpace(p)
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return strings.Join(out, ": ")
}

func isJSON(contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	return ct == "application/json" || (strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "+json"))
}

// maxBodyInError bounds how much of a response body, or of Tray's message,
// an error carries: enough to recognize a proxy's page, never a page of
// user records.
const maxBodyInError = 200

// snippet is a short, single-line excerpt of a body for error messages.
func snippet(body []byte) string {
	if len(body) > 4*maxBodyInError {
		body = body[:4*maxBodyInError]
	}
	s := bounded(strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "")), " "))
	if s == "" {
		return "empty body"
	}
	return "body: " + s
}

// bounded cuts s to at most maxBodyInError bytes, at a UTF-8 boundary.
func bounded(s string) string {
	if len(s) <= maxBodyInError {
		return s
	}
	cut := maxBodyInError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

package client

import (
	"errors"
	"io"
	"net/http"
)

var errBodyTooLarge = errors.New("response body too large")

func isBodyTooLarge(err error) bool { return errors.Is(err, errBodyTooLarge) }

// limitedBodyTransport fails a response whose body exceeds max bytes,
// before uhttp buffers all of it.
type limitedBodyTransport struct {
	next http.RoundTripper
	max  int64
}

func (t *limitedBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp == nil {
		return resp, err
	}
	if resp.ContentLength > t.max {
		_ = resp.Body.Close()
		return nil, errBodyTooLarge
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left <= 0 && err == nil {
		// One more byte would exceed the cap; peek to tell "exactly max" from "more".
		var one [1]byte
		if m, _ := b.rc.Read(one[:]); m > 0 {
			return n, errBodyTooLarge
		}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

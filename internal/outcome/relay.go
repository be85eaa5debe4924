package outcome

import (
	"io"
	"os"
	"sync/atomic"
	"time"
)

// relay copies the run's stderr, which the worker and the SDK's connector
// process write to, to the supervisor's, so that the errors they log can
// be read on the way. It keeps reading whatever happens to the supervisor's
// stderr: a relay that stopped would kill the writers with SIGPIPE.
type relay struct {
	logged  loggedErrors
	done    chan struct{}
	copying atomic.Bool  // a piece is being written out
	pieces  atomic.Int64 // pieces read so far
}

// startRelay starts copying to dst and returns the relay and the pipe's
// write end for the worker; the caller closes its copy once the worker has
// started.
func startRelay(dst io.Writer) (*relay, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return &relay{done: closedChannel()}, nil, err
	}
	rl := &relay{done: make(chan struct{})}
	go func() {
		defer close(rl.done)
		defer r.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				rl.copying.Store(true)
				_, _ = dst.Write(buf[:n])
				_, _ = rl.logged.Write(buf[:n])
				rl.copying.Store(false)
				rl.pieces.Add(1)
			}
			if err != nil {
				return
			}
		}
	}()
	return rl, w, nil
}

// drain waits until every writer has closed the pipe and all of it is
// copied; or, when a process that outlived the worker holds the pipe open
// without writing, until nothing has come for quiet. It never drops what
// is still coming.
func (rl *relay) drain(quiet time.Duration) {
	for {
		seen := rl.pieces.Load()
		timer := time.NewTimer(quiet)
		select {
		case <-rl.done:
			timer.Stop()
			return
		case <-timer.C:
			if !rl.copying.Load() && rl.pieces.Load() == seen {
				return
			}
		}
	}
}

func closedChannel() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

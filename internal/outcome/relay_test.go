package outcome

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

type brokenStderr struct{ writes int }

func (b *brokenStderr) Write([]byte) (int, error) {
	b.writes++
	return 0, errors.New("write /dev/stderr: no space left on device")
}

// A supervisor whose own stderr fails still takes everything the run
// writes: the worker must not die of a broken pipe for it.
func TestTheRelayTakesEverythingWhenItsStderrFails(t *testing.T) {
	dst := &brokenStderr{}
	rl, pipe, err := startRelay(dst)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 { // far more than a pipe holds
		if _, err := fmt.Fprintf(pipe, `{"level":"info","msg":"line %d"}`+"\n", i); err != nil {
			t.Fatalf("line %d: the writer saw %v", i, err)
		}
	}
	if _, err := fmt.Fprintln(pipe, `{"level":"error","msg":"error running connector","error":"the end"}`); err != nil {
		t.Fatal(err)
	}
	_ = pipe.Close()
	rl.drain(time.Minute) // returns when the pipe is closed and read
	if rl.logged.Error() != "the end" || dst.writes == 0 {
		t.Fatalf("logged %q after %d writes to the broken stderr", rl.logged.Error(), dst.writes)
	}
}

// A process that outlives the worker and keeps the pipe open without
// writing does not hold the run: drain returns once nothing comes, with
// what came before it copied.
func TestDrainReturnsWhenAnOutlivingWriterFallsQuiet(t *testing.T) {
	var dst bytes.Buffer
	rl, pipe, err := startRelay(&dst)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	if _, err := fmt.Fprintln(pipe, "last words"); err != nil {
		t.Fatal(err)
	}
	for rl.pieces.Load() == 0 {
		select {
		case <-rl.done:
			t.Fatal("the relay stopped")
		case <-time.After(time.Millisecond):
		}
	}
	rl.drain(10 * time.Millisecond)
	if got := rl.logged.LastLine(); got != "last words" || !strings.Contains(dst.String(), "last words") {
		t.Fatalf("last line %q, copied %q", got, dst.String())
	}
}

// gatedStderr blocks its first write until released, as a paused terminal
// or a pager does.
type gatedStderr struct {
	entered, release chan struct{}
	got              bytes.Buffer
}

func (g *gatedStderr) Write(p []byte) (int, error) {
	if g.entered != nil {
		close(g.entered)
		g.entered = nil
		<-g.release
	}
	return g.got.Write(p)
}

// While a piece is still being written out to a stderr that does not take
// it, drain keeps waiting however long that lasts: the run's last lines
// are never cut off.
func TestDrainWaitsForAStderrThatIsSlowToTakeTheLog(t *testing.T) {
	dst := &gatedStderr{entered: make(chan struct{}), release: make(chan struct{})}
	entered := dst.entered
	rl, pipe, err := startRelay(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintln(pipe, "the last line"); err != nil {
		t.Fatal(err)
	}
	_ = pipe.Close()
	<-entered
	drained := make(chan struct{})
	go func() {
		rl.drain(time.Millisecond)
		close(drained)
	}()
	// Fifty quiet periods pass with the piece held up; drain must not end.
	select {
	case <-drained:
		t.Fatal("drain returned while the last line was still being written out")
	case <-time.After(50 * time.Millisecond):
	}
	close(dst.release)
	<-drained
	if dst.got.String() != "the last line\n" {
		t.Fatalf("copied %q", dst.got.String())
	}
}

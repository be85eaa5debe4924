package outcome

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// A failed run's last line says what failed and what to do. The worker
// writes it on its way out; when the SDK's watcher ends the worker first,
// the supervisor writes it from the error the worker logged.

// Explain is the last line of a run that failed with msg: the message,
// and what to do where the message alone does not say it.
func Explain(msg string) string {
	if strings.Contains(msg, "no space left on device") {
		return msg + ": free space there, or point -f or --c1z-temp-dir (TMPDIR) at a disk with room; the previous c1z is unchanged"
	}
	return msg
}

// sdkFailureMessage is the message of the line the SDK logs with the
// error that ends a run.
const sdkFailureMessage = "error running connector"

// maxLogLine bounds what loggedErrors holds of a line that has not ended.
const maxLogLine = 1 << 20

// loggedErrors passes over the run's log and keeps the error the SDK logs
// when it gives up on the run ("error running connector"), in its JSON or
// console format, and the last line, to tell whether the worker said it.
// Other error lines are left alone: what they say (the connector process's
// "exit status 1") does not tell a user what failed.
type loggedErrors struct {
	mu       sync.Mutex
	partial  []byte
	final    string
	lastLine string
}

// Write takes the log as it comes, in pieces of any size.
func (l *loggedErrors) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		end := bytes.IndexByte(l.partial, '\n')
		if end < 0 {
			break
		}
		l.note(l.partial[:end])
		l.partial = l.partial[end+1:]
	}
	if len(l.partial) > maxLogLine {
		l.partial = l.partial[:0]
	}
	return len(p), nil
}

func (l *loggedErrors) note(line []byte) {
	if len(bytes.TrimSpace(line)) != 0 {
		l.lastLine = string(line)
	}
	if msg, err := errorLogged(line); err != "" && msg == sdkFailureMessage {
		l.final = err
	}
}

// Error is the error that ended the run, or "" when the SDK logged none.
func (l *loggedErrors) Error() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.final
}

// LastLine is the last line that passed, without its newline.
func (l *loggedErrors) LastLine() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastLine
}

// errorLogged returns the message and the error of an error-level log
// line, or "" for the error of any other line.
func errorLogged(line []byte) (string, string) {
	line = bytes.TrimSpace(line)
	var entry struct {
		Level   string `json:"level"`
		Message string `json:"msg"`
		Error   string `json:"error"`
	}
	if bytes.HasPrefix(line, []byte("{")) {
		// JSON: one object per line.
		if json.Unmarshal(line, &entry) != nil {
			return "", ""
		}
	} else {
		// Console: time, level, caller, the message (which may hold tabs)
		// and the fields as JSON, separated by tabs.
		parts := bytes.Split(line, []byte("\t"))
		if len(parts) < 5 || json.Unmarshal(parts[len(parts)-1], &entry) != nil {
			return "", ""
		}
		entry.Level, entry.Message = string(parts[1]), string(bytes.Join(parts[3:len(parts)-1], []byte("\t")))
	}
	switch strings.ToLower(entry.Level) {
	case "error", "dpanic", "panic", "fatal":
		return entry.Message, statusMessage(entry.Error)
	}
	return "", ""
}

// statusMessage is the message of a gRPC status error's text, as the
// worker would say it, or the text itself.
func statusMessage(err string) string {
	const prefix, desc = "rpc error: code = ", " desc = "
	if i := strings.Index(err, desc); strings.HasPrefix(err, prefix) && i >= 0 {
		return err[i+len(desc):]
	}
	return err
}

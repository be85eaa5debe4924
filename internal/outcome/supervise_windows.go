//go:build windows

package outcome

import "context"

// Supervise does nothing on Windows, where the binary also runs as a
// Windows service and signals do not pass between processes: the command
// runs in this process, as the SDK intends.
func Supervise(context.Context) (int, bool) { return 0, false }

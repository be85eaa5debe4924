package outcome

import (
	"strings"
	"testing"
)

const noSpace = "runner: error processing task: error closing store: write /full/sync.c1z: no space left on device"

func TestLoggedErrorsKeepsTheErrorThatEndedTheRun(t *testing.T) {
	cases := []struct {
		name string
		log  string
		want string
	}{
		{"json: the SDK's final line, not a later error", `{"level":"info","msg":"syncing"}
{"level":"error","msg":"runner: error processing on-demand task","error":"first"}
{"level":"error","msg":"error running connector","error":"` + noSpace + `"}
{"level":"error","msg":"connector service quit unexpectedly","error":"signal: killed"}
`, noSpace},
		{"console format", "2026-12-03T10:00:00.000Z\tINFO\tsync/syncer.go:1\tsyncing\t{\"n\": 1}\n" +
			"2026-12-03T10:00:01.000Z\tERROR\tcli/commands.go:480\terror running connector\t{\"error\": \"" + noSpace + "\"}\n", noSpace},
		{"only the SDK's final line counts", `{"level":"error","msg":"runner: error processing on-demand task","error":"first"}
{"level":"error","msg":"connector service quit unexpectedly","error":"exit status 1"}
{"level":"warn","msg":"error running connector","error":"a warning is no failure"}
`, ""},
		{"a console message is read whole, tabs and all", "2026-12-03T10:00:00.000Z\tERROR\tcli/commands.go:480\terror running connector\t{\"error\": \"the final one\"}\n" +
			"2026-12-03T10:00:01.000Z\tERROR\tx.go:1\terror running connector\tagain, said otherwise\t{\"error\": \"not the final one\"}\n",
			"the final one"},
		{"nothing but information", "{\"level\":\"info\",\"msg\":\"done\"}\nplain text, not a log line\n\n", ""},
		{"an unfinished line is not read", `{"level":"error","msg":"error running connector","error":"cut"}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var l loggedErrors
			// In pieces of 7 bytes: a line arrives in several writes.
			for rest := c.log; rest != ""; {
				n := min(7, len(rest))
				if _, err := l.Write([]byte(rest[:n])); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			if got := l.Error(); got != c.want {
				t.Fatalf("kept %q, want %q", got, c.want)
			}
		})
	}
}

func TestExplainSaysWhatToDoAboutAFullDisk(t *testing.T) {
	if got := Explain(noSpace); !strings.HasPrefix(got, noSpace+": free space there") || !strings.Contains(got, "previous c1z is unchanged") {
		t.Fatalf("full disk: %q", got)
	}
	if got := Explain("Tray.ai rejected the API token"); got != "Tray.ai rejected the API token" {
		t.Fatalf("other failures are left as they are: %q", got)
	}
}

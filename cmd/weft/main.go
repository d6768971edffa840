// Command weft is the weft CLI: the embedded demo and dev server, and
// commands that drive a dev server over HTTP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/weftio/weft/internal/redact"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: weft <command> [arguments]

commands:
  demo                                  run the example workflows on the embedded runtime
  dev [-addr 127.0.0.1:8233]            start the embedded runtime with the examples and an HTTP API
  worker                                run the roles for the examples on the configured transport and storage
  dispatch [-wait] [-id ID] WORKFLOW METHOD JSON
                                        start a workflow on a dev server
  describe ID                           print an instance's state
  result ID                             print an ended instance's result record
  signal WORKFLOW ID CHANNEL JSON       send a signal
  cancel WORKFLOW ID                    cancel an instance
  retry-workflow-task WORKFLOW ID       re-run a failed workflow task
  retry-tasks WORKFLOW ID               re-dispatch failed tasks
  replay [-v] [-file F|DIR] [-id ID]    check recorded histories against this code before a deploy
         [-tag WORKFLOW:TAG]            (exit 1 when the code no longer matches them; replay -h)
  config validate [-file weft.yaml]     print the effective configuration, or every error
  config env                            list the environment variables and their defaults

demo, dev and worker use the transport and storage configured by WEFT_* variables
(see config env); the default is in memory, in one process.
The commands that talk to a dev server read its address from -addr or WEFT_DEV_ADDR,
and send WEFT_DEV_TOKEN (or the contents of WEFT_DEV_TOKEN_FILE) when set.
dev listens on 127.0.0.1 unless told otherwise; another address needs WEFT_DEV_TOKEN.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "demo":
		err = runDemo(ctx, stdout)
	case "dev":
		err = runDev(ctx, rest, stdout, stderr)
	case "worker":
		err = runWorker(ctx, rest, stdout, stderr)
	case "dispatch", "describe", "result", "signal", "cancel", "retry-workflow-task", "retry-tasks":
		err = runRemote(ctx, cmd, rest, stdout)
	case "replay":
		err = runReplay(ctx, rest, stdout, stderr, openConfiguredStores)
	case "config":
		err = runConfig(rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "weft: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.Is(err, errReplayProblems) {
		return 1 // the report says why
	}
	if err != nil {
		// The last line of defence: whatever an error quotes, no password
		// or token of a configured URL reaches the terminal.
		fmt.Fprintln(stderr, "weft:", redact.Text(err.Error()))
		return 1
	}
	return 0
}

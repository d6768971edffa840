// Package cli is weft's command line on a program's own registry: the
// weft CLI runs it on the examples, app.Main on a user's services and
// workflows. Besides the commands, it runs the roles named by WEFT_ROLES on
// the runtime named by WEFT_RUNTIME (the run command, and what a user's
// binary does when started without one).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/redact"
)

// Program is what a binary brings to the command line.
type Program struct {
	// Name is the command's name in the usage ("weft").
	Name string
	// Registry returns the program's services and workflows; out receives
	// what their code prints (the examples narrate). Nil: none.
	Registry func(out io.Writer) (*weft.Registry, error)
	// Demo, when set, is the demo command: it runs the program's workflows
	// on an embedded runtime.
	Demo func(ctx context.Context, c *client.Client, out io.Writer) error
	// RunByDefault makes a command line without a command (or starting
	// with a flag, as a Pulsar Function's does) run the roles; otherwise
	// it prints the usage.
	RunByDefault bool
	// Roles, when set, are the only roles the binary runs (a role
	// binary): WEFT_ROLES defaults to them and may name no other.
	Roles []config.Role
}

// registry builds the program's registry.
func (p Program) registry(out io.Writer) (*weft.Registry, error) {
	if p.Registry == nil {
		return weft.NewRegistry(), nil
	}
	return p.Registry(out)
}

// registered describes the registry for the banners.
func registered(reg *weft.Registry) string {
	return fmt.Sprintf("workflows: %s; services: %s", listOrNone(reg.Workflows()), listOrNone(reg.Services()))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func (p Program) usage() string {
	demo := ""
	if p.Demo != nil {
		demo = "  demo                                  run the example workflows on the embedded runtime\n"
	}
	bare := ""
	if p.RunByDefault {
		bare = "\nWithout a command, " + p.Name + " runs as run does.\n"
	}
	return fmt.Sprintf(`usage: %[1]s <command> [arguments]

commands:
%[2]s  run                                   run the roles named by WEFT_ROLES (default all) on the runtime
                                        named by WEFT_RUNTIME (worker, pulsar-functions, ...; default: detected)
  worker                                run the roles on the configured transport and storage, as a worker
  dev [-addr 127.0.0.1:8233]            start the embedded runtime with an HTTP API
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
  deploy <target> [flags]               create or update the roles' functions on a platform
                                        (deploy pulsar-functions -h: its flags)
  undeploy <target> [flags]             remove the functions deploy made
%[3]s
run, worker, dev and demo use the transport and storage configured by WEFT_* variables
(see config env); the default is in memory, in one process.
The commands that talk to a dev server read its address from -addr or WEFT_DEV_ADDR,
and send WEFT_DEV_TOKEN (or the contents of WEFT_DEV_TOKEN_FILE) when set.
dev listens on 127.0.0.1 unless told otherwise; another address needs WEFT_DEV_TOKEN.
deploy and undeploy targets built into this binary: %[4]s.
A deployed function gets this process's WEFT_* settings in its configuration, which the
platform's administrators can read: pass secrets as *_FILE paths to files on its hosts.
`, p.Name, demo, bare, listOrNone(deployTargets()))
}

// Run runs the command line args and returns the exit status.
func Run(ctx context.Context, p Program, args []string, stdout, stderr io.Writer) int {
	if p.Name == "" {
		p.Name = "weft"
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		if !p.RunByDefault {
			fmt.Fprint(stderr, p.usage())
			return 2
		}
		args = append([]string{"run"}, args...)
	}
	var err error
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "demo" && p.Demo != nil:
		err = runDemo(ctx, p, stdout)
	case cmd == "dev":
		err = runDev(ctx, p, rest, stdout, stderr)
	case cmd == "run":
		err = runRoles(ctx, p, "", rest, stdout, stderr)
	case cmd == "worker":
		err = runRoles(ctx, p, "worker", rest, stdout, stderr)
	case cmd == "dispatch", cmd == "describe", cmd == "result", cmd == "signal", cmd == "cancel", cmd == "retry-workflow-task", cmd == "retry-tasks":
		err = runRemote(ctx, cmd, rest, stdout)
	case cmd == "replay":
		err = runReplay(ctx, p, rest, stdout, stderr, openConfiguredStores)
	case cmd == "config":
		err = runConfig(p, rest, stdout)
	case cmd == "deploy", cmd == "undeploy":
		err = runDeploy(ctx, p, cmd == "undeploy", rest, stdout, stderr)
	case cmd == "help", cmd == "-h", cmd == "--help":
		fmt.Fprint(stdout, p.usage())
		return 0
	default:
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", p.Name, cmd, p.usage())
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
		fmt.Fprintf(stderr, "%s: %s\n", p.Name, redact.Text(err.Error()))
		return 1
	}
	return 0
}

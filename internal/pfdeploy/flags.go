package pfdeploy

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/weftio/weft/internal/cli"
)

// options are the flags of deploy and undeploy pulsar-functions.
type options struct {
	dir, binary       string
	tenant, namespace string
	prefix            string
	parallelism       string
	logTopic          string
	wait              time.Duration
}

// DefaultPrefix begins every function's name: weft-state-engine, ...
const DefaultPrefix = "weft-"

// DefaultWait is how long deploy waits for the instances to run.
const DefaultWait = 2 * time.Minute

// parseFlags reads req.Args; undeploy has only the flags that name the
// functions.
func parseFlags(req cli.DeployRequest, undeploy bool) (options, error) {
	var o options
	fs := flag.NewFlagSet(req.Command, flag.ContinueOnError)
	fs.SetOutput(req.Err)
	fs.StringVar(&o.tenant, "tenant", "", "tenant of the functions (default WEFT_PULSAR_TENANT, the topics' tenant)")
	fs.StringVar(&o.namespace, "namespace", "", "namespace of the functions (default WEFT_PULSAR_NAMESPACE, the topics' namespace)")
	fs.StringVar(&o.prefix, "prefix", DefaultPrefix, "begins the function names: <prefix><role>")
	if !undeploy {
		fs.StringVar(&o.dir, "dir", "", "folder holding the role binaries executor, state-engine, tag-engine, event-listener (make functions builds them into bin/)")
		fs.StringVar(&o.binary, "binary", "", "one binary for every role (default, without -dir: this program itself)")
		fs.StringVar(&o.parallelism, "parallelism", "", "instances per role: N for all, or role=N,... (default 1)")
		fs.StringVar(&o.logTopic, "log-topic", "", "topic that receives the functions' log lines (default none)")
		fs.DurationVar(&o.wait, "wait", DefaultWait, "how long to wait for every instance to run (0: do not wait)")
	}
	fs.Usage = func() { usage(fs.Output(), req, undeploy, fs) }
	if err := fs.Parse(req.Args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only; %s -h lists them)", fs.Arg(0), req.Command)
	}
	if o.dir != "" && o.binary != "" {
		return o, fmt.Errorf("-dir and -binary both given: -dir deploys a binary per role, -binary one for all")
	}
	if o.wait < 0 {
		return o, fmt.Errorf("-wait %v: must not be negative", o.wait)
	}
	return o, nil
}

func usage(w io.Writer, req cli.DeployRequest, undeploy bool, fs *flag.FlagSet) {
	if undeploy {
		fmt.Fprintf(w, `usage: %s %s [flags]

Deletes the Pulsar Function of each role WEFT_ROLES names (default: all four);
one that does not exist is skipped. The subscriptions stay, with their backlog.
`, req.Program, req.Command)
	} else {
		fmt.Fprintf(w, `usage: %s %s [flags]

Creates, or updates with the new binary, one Pulsar Function per role WEFT_ROLES
names (default all; the event listener only when WEFT_EVENTS_SINK is set), through
the admin API at WEFT_PULSAR_ADMIN_URL (authenticated by WEFT_PULSAR_TOKEN or
WEFT_PULSAR_TOKEN_FILE_PATH). Each function consumes its role's topics, shares its
subscription with the role's workers, and runs with the WEFT_* settings of this
process, passed in its userConfig.

userConfig is readable by anyone who may administer the namespace: pass secrets as
*_FILE variables naming files on the functions worker's hosts (WEFT_POSTGRES_PASSWORD_FILE=...),
not as values.
`, req.Program, req.Command)
	}
	fmt.Fprintln(w, "\nflags:")
	fs.PrintDefaults()
}

package pfdeploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/weftio/weft/internal/redact"
)

// pollEvery is the pause between two looks at the functions' status.
const pollEvery = 2 * time.Second

// waitRunning polls the status of every function until all its instances
// run, printing each one's once it does. After d it fails, naming every
// function not running with what its instances report (the error the
// worker captured, e.g. the process's last words).
func (c *client) waitRunning(ctx context.Context, fns []function, d, timeout time.Duration, out io.Writer) error {
	deadline := time.Now().Add(d)
	pending := map[string]string{} // fqfn → why it is not running yet
	for _, f := range fns {
		pending[f.fqfn()] = "no status yet"
	}
	for {
		for _, f := range fns {
			if _, waiting := pending[f.fqfn()]; !waiting {
				continue
			}
			get, cancel := context.WithTimeout(ctx, timeout)
			st, err := c.fns.GetFunctionStatusWithContext(get, f.config.Tenant, f.config.Namespace, f.config.Name)
			cancel()
			if err != nil {
				pending[f.fqfn()] = c.explain("status", err).Error()
				continue
			}
			if why := notRunning(st, f.config.Parallelism); why != "" {
				pending[f.fqfn()] = why
				continue
			}
			delete(pending, f.fqfn())
			fmt.Fprintf(out, "%s: %d of %d instances running\n", f.fqfn(), st.NumRunning, st.NumInstances)
		}
		if len(pending) == 0 {
			return nil
		}
		if !time.Now().Before(deadline) {
			var errs []error
			for _, f := range fns {
				if why, ok := pending[f.fqfn()]; ok {
					errs = append(errs, fmt.Errorf("%s is not running after %v: %s", f.fqfn(), d, why))
				}
			}
			return errors.Join(errs...)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(pollEvery, time.Until(deadline))):
		}
	}
}

// notRunning says why a status is not every instance running ("" when it
// is), quoting what the instances report.
func notRunning(st utils.FunctionStatus, want int) string {
	var why []string
	for _, in := range st.Instances {
		if in.Status.Running {
			continue
		}
		msg := strings.TrimSpace(in.Status.Err)
		if n := len(in.Status.LatestSystemExceptions); n > 0 {
			msg = strings.TrimSpace(msg + "; " + in.Status.LatestSystemExceptions[n-1].ExceptionString)
		}
		if msg == "" {
			// The worker captures no death exception of a Go instance:
			// its output goes to the worker's own.
			msg = "not running and no error reported (a Go instance writes its errors to the functions worker's standard output)"
		}
		why = append(why, fmt.Sprintf("instance %d: %s (%d restarts)", in.InstanceID, msg, in.Status.NumRestarts))
	}
	if len(why) == 0 && st.NumRunning >= want && st.NumRunning == st.NumInstances {
		return ""
	}
	summary := fmt.Sprintf("%d of %d instances running", st.NumRunning, max(st.NumInstances, want))
	if len(why) > 0 {
		summary += ": " + strings.Join(why, "; ")
	}
	return redact.Text(summary)
}

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/storage"
)

// errReplayProblems makes `weft replay` exit with 1 after its report.
var errReplayProblems = errors.New("replay found problems")

// openStores opens the storage `weft replay -id/-tag` reads states from.
type openStores func(ctx context.Context) (*bootstrap.Stores, error)

func openConfiguredStores(ctx context.Context) (*bootstrap.Stores, error) {
	cfg, err := config.Load(config.Source{})
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return bootstrap.OpenStorage(ctx, cfg)
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const replayUsage = `usage: weft replay [-v] [-file F|DIR ...] [-id ID ...] [-tag WORKFLOW:TAG ...] [F|DIR ...]

Replays recorded workflow histories against the code of this binary (its
registered workflows) and reports every place where the code no longer matches: run it
before a deploy. Exit status 1 when a problem is found.

  -file F|DIR   a state exported by weft describe (or a JSON array of them), or
                a directory of *.json states; repeatable, and bare arguments too
  -id ID        the live state of instance ID in the configured storage (WEFT_STORAGE ...)
  -tag W:TAG    every instance of workflow W tagged TAG in the configured storage
  -v            one line per replayed method run
  -all          not available: the storage drivers cannot list every state yet;
                use -tag with a tag every instance carries, -id, or -file
`

// runReplay implements `weft replay`.
func runReplay(ctx context.Context, p Program, args []string, out, errOut io.Writer, open openStores) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() { fmt.Fprint(errOut, replayUsage) }
	var files, ids, tags listFlag
	fs.Var(&files, "file", "state file or directory")
	fs.Var(&ids, "id", "instance id in the configured storage")
	fs.Var(&tags, "tag", "WORKFLOW:TAG in the configured storage")
	verbose := fs.Bool("v", false, "one line per replayed method run")
	all := fs.Bool("all", false, "every stored state (not available)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *all {
		return errors.New("replay -all is not available: listing every stored state needs a key scan the storage drivers " +
			"do not offer yet; use -tag WORKFLOW:TAG (a tag every instance carries), -id ID, or -file with states exported by weft describe")
	}
	files = append(files, fs.Args()...)
	if len(files)+len(ids)+len(tags) == 0 {
		return errors.New("replay needs states to check: -file, -id or -tag (see weft replay -h)")
	}
	reg, err := p.registry(io.Discard)
	if err != nil {
		return err
	}
	rep, err := reg.CheckReplayFiles(files...)
	if err != nil {
		return err
	}
	if len(ids)+len(tags) > 0 {
		stored, err := replayStored(ctx, reg, open, ids, tags)
		if err != nil {
			return err
		}
		rep.Merge(stored)
	}
	text := rep.String()
	if *verbose {
		text = rep.Verbose()
	}
	if _, err := io.WriteString(out, "weft replay: "+text); err != nil {
		return err
	}
	if !rep.OK() {
		return errReplayProblems
	}
	return nil
}

// replayStored checks the states of the given instances, and of the
// instances carrying the given tags, read from storage.
func replayStored(ctx context.Context, reg *weft.Registry, open openStores, ids, tags []string) (rep *weft.ReplayReport, err error) {
	stores, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, stores.Close()) }()
	rep = &weft.ReplayReport{}
	seen := map[string]bool{}
	check := func(id string, required bool) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		key := core.StateKey(id)
		raw, err := storage.ReadValue(ctx, stores.KeyValue, key)
		if err != nil {
			return fmt.Errorf("read state of %s: %w", id, err)
		}
		if raw == nil {
			if required {
				return fmt.Errorf("no stored state for instance %s (never started, past its retention, or another storage: check WEFT_STORAGE)", id)
			}
			return nil // a tag member whose state is gone: the tag engine forgets it later
		}
		if st, err := core.DecodeState(raw); err == nil && len(st.PageKeys()) > 0 {
			// A long run: its settled history is in history pages.
			full, err := client.LoadState(ctx, stores.KeyValue, id)
			if err != nil {
				return fmt.Errorf("read state of %s: %w", id, err)
			}
			if raw, err = json.Marshal(full); err != nil {
				return err
			}
		}
		rep.Merge(reg.CheckReplayJSON("storage:"+key, raw))
		return nil
	}
	for _, id := range ids {
		if err := check(id, true); err != nil {
			return nil, err
		}
	}
	for _, t := range tags {
		workflow, tag, ok := strings.Cut(t, ":")
		if !ok || workflow == "" || tag == "" {
			return nil, fmt.Errorf("replay -tag %q: want WORKFLOW:TAG", t)
		}
		cursor := ""
		for {
			members, next, err := stores.KeySet.Page(ctx, core.TagKey(workflow, tag), cursor, 100)
			if err != nil {
				return nil, fmt.Errorf("list %s instances tagged %s: %w", workflow, tag, err)
			}
			for _, m := range members {
				if err := check(string(m), false); err != nil {
					return nil, err
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return rep, nil
}

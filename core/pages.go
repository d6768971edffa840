package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

var zeroTime time.Time

// ArchiveThreshold is how many settled entries (decided steps, and
// commands that can no longer change) a method run keeps in its state
// before they move to a history page: the state, written at every step,
// then stays small however long the run, and the pages are written once.
const ArchiveThreshold = 256

// PageSchemaVersion is the version of the stored HistoryPage layout.
const PageSchemaVersion = 1

// PageRef names a history page of a method run, with what it holds.
type PageRef struct {
	Key      string `json:"key"`
	Commands int    `json:"commands"`
	Steps    int    `json:"steps"`
}

// HistoryPage holds settled history of one method run, stored under its
// own key and never changed: commands whose status is final and decided
// steps, with the properties values those steps resume with.
type HistoryPage struct {
	V           int                        `json:"v"`
	WorkflowID  string                     `json:"workflowId"`
	MethodRunID string                     `json:"methodRunId"`
	Commands    []*Command                 `json:"commands,omitempty"`
	Steps       []*Step                    `json:"steps,omitempty"`
	Props       map[string]json.RawMessage `json:"props,omitempty"`
}

// StoredPage is a page to write, encoded as Value, under Key.
type StoredPage struct {
	Key   string
	Value []byte
	Page  *HistoryPage
}

// DecodePage parses a stored page, rejecting unknown schema versions.
func DecodePage(b []byte) (*HistoryPage, error) {
	var p HistoryPage
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode history page: %w", err)
	}
	if p.V != PageSchemaVersion {
		return nil, fmt.Errorf("decode history page of %s: unsupported schema version %d (this build reads %d)", p.WorkflowID, p.V, PageSchemaVersion)
	}
	return &p, nil
}

// settled reports whether command c of run can no longer change and no
// step of the run waits for it: its status is final, and for a reception,
// its channel is closed.
func (e *engine) settled(run *MethodRun, c *Command) bool {
	if (run.Current != nil && run.Current.waits(c.ID)) || !c.Latest().State.Terminal() {
		return false
	}
	if c.Kind == KindReceive {
		for _, ch := range e.s.Channels {
			if ch.CommandID == c.ID {
				return false
			}
		}
	}
	return true
}

// archive moves the settled history of each live method run to a new
// history page once it holds ArchiveThreshold entries. The page is
// returned to be written with the state; its key depends on its content,
// so the same change always writes the same page. A command a later step
// waits for is brought back from its page (see WorkflowTaskCompleted's
// StepCommands).
func (e *engine) archive() {
	s := e.s
	for _, run := range s.Methods {
		// A command the current step waits for is not settled: a fan-out
		// is not scanned at each of its completions.
		unwaited := len(run.Commands)
		if run.Current != nil {
			unwaited -= len(run.Current.waitedSet())
		}
		if len(run.Steps)+unwaited < ArchiveThreshold {
			continue
		}
		n := len(run.Steps)
		for _, c := range run.Commands {
			if e.settled(run, c) {
				n++
			}
		}
		if n < ArchiveThreshold {
			continue
		}
		page := &HistoryPage{V: PageSchemaVersion, WorkflowID: s.WorkflowID, MethodRunID: run.ID, Steps: run.Steps}
		kept := make([]*Command, 0, len(run.Commands))
		for _, c := range run.Commands {
			if !e.settled(run, c) {
				kept = append(kept, c)
				continue
			}
			page.Commands = append(page.Commands, c)
			run.ArchivedThrough = max(run.ArchivedThrough, c.Position+1)
			if c.Kind == KindReceive {
				for _, st := range c.Statuses {
					if st.SignalID != "" {
						run.ArchivedSignals = append(run.ArchivedSignals, st.SignalID)
					}
				}
			}
		}
		for _, st := range run.Steps {
			run.ArchivedThrough = max(run.ArchivedThrough, st.Position+1)
		}
		for _, st := range run.Steps {
			if h := st.PropsAtEnd; h != "" {
				if page.Props == nil {
					page.Props = map[string]json.RawMessage{}
				}
				page.Props[h] = s.PropValues[h]
			}
		}
		b, err := json.Marshal(page)
		if err != nil {
			continue // our own types always encode
		}
		sum := sha256.Sum256(b)
		key := PageKey(s.WorkflowID, run.ID, len(run.Pages), hex.EncodeToString(sum[:12]))
		e.pages = append(e.pages, StoredPage{Key: key, Value: b, Page: page})
		run.Pages = append(run.Pages, PageRef{Key: key, Commands: len(page.Commands), Steps: len(page.Steps)})
		run.Commands, run.Steps = kept, nil
		e.refreshTaskProps(run)
	}
}

// refreshTaskProps rebuilds the properties of a workflow task of run
// dispatched in this transition, once run's steps went to a page: the
// task names the properties of the steps still in the state, as a task
// rebuilt from the stored state does (see OutboxEnvelopes).
func (e *engine) refreshTaskProps(run *MethodRun) {
	for _, o := range e.out {
		if t, ok := o.Msg.(*ExecuteWorkflowTask); ok && t.Method == run {
			t.Props = e.s.runningTask(run).Props
		}
	}
}

// PageKey is the storage key of page n of a method run, with content hash.
func PageKey(workflowID, methodRunID string, n int, hash string) string {
	return "workflow.history." + workflowID + "." + DeriveID(zeroTime, methodRunID, strconv.Itoa(n), hash)
}

// leaves calls f with the command id of every leaf of the tree.
func (n StepNode) leaves(f func(id string)) {
	if n.Op == OpID {
		f(n.CommandID)
		return
	}
	for _, c := range n.Children {
		c.leaves(f)
	}
}

// droppedPages returns the page keys of the method runs in before that
// are no longer live: ended, canceled, or the instance ended.
func (e *engine) droppedPages(before []*MethodRun) []string {
	var keys []string
	for _, run := range before {
		if len(run.Pages) == 0 {
			continue
		}
		if e.s.Result == nil && e.s.Method(run.ID) == run {
			continue
		}
		for _, p := range run.Pages {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

// Merge returns a copy of run with the history of its pages in place, as
// a replay needs it (pages in the order of run.Pages, which match its
// refs), and the properties values the pages' steps resume with. The copy
// shares no changeable memory with run (see ReplayCopy).
func (run *MethodRun) Merge(pages []*HistoryPage) (*MethodRun, map[string]json.RawMessage, error) {
	if len(pages) != len(run.Pages) {
		return nil, nil, fmt.Errorf("method run %s has %d history pages, %d given", run.ID, len(run.Pages), len(pages))
	}
	c := run.ReplayCopy()
	var cmds []*Command
	var steps []*Step
	props := map[string]json.RawMessage{}
	for i, p := range pages {
		if p.MethodRunID != run.ID || len(p.Commands) != run.Pages[i].Commands || len(p.Steps) != run.Pages[i].Steps {
			return nil, nil, fmt.Errorf("history page %s does not hold what method run %s records", run.Pages[i].Key, run.ID)
		}
		cmds = append(cmds, p.Commands...)
		steps = append(steps, p.Steps...)
		for h, v := range p.Props {
			props[h] = v
		}
	}
	c.Commands = append(cmds, c.Commands...)
	c.Steps = append(steps, c.Steps...)
	c.Pages = nil
	return c, props, nil
}

// PageKeys lists the keys of every history page the state names.
func (s *WorkflowState) PageKeys() []string {
	var keys []string
	for _, run := range s.Methods {
		for _, p := range run.Pages {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

// MergePages puts the history of the state's pages (given by key) back in
// its method runs, and the properties values their steps resume with: the
// state as it would be without pages, e.g. to describe or check it.
func (s *WorkflowState) MergePages(pages map[string]*HistoryPage) error {
	for i, run := range s.Methods {
		if len(run.Pages) == 0 {
			continue
		}
		list := make([]*HistoryPage, len(run.Pages))
		for k, ref := range run.Pages {
			if list[k] = pages[ref.Key]; list[k] == nil {
				return fmt.Errorf("history page %s of %s is missing", ref.Key, s.WorkflowID)
			}
		}
		merged, props, err := run.Merge(list)
		if err != nil {
			return err
		}
		// Merge keeps what a replay reads; the rest of the run stays.
		full := *run
		full.Commands, full.Steps, full.Current, full.Pages = merged.Commands, merged.Steps, merged.Current, nil
		s.Methods[i] = &full
		if len(props) > 0 && s.PropValues == nil {
			s.PropValues = map[string]json.RawMessage{}
		}
		for h, v := range props {
			s.PropValues[h] = v
		}
	}
	return nil
}

package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// EncodeState serializes a state for storage: the bytes json.Marshal
// gives, made faster. A state is written at every step, and most of it is
// the method runs' commands, which rarely change once recorded (a fan-out
// of N tasks writes its N commands at each of its N completions): each
// command keeps its encoding and is encoded again only once changed, and
// the rest of the state is encoded around placeholders that the commands'
// bytes then replace.
func EncodeState(s *WorkflowState) ([]byte, error) {
	s.V = StateSchemaVersion
	b, spliced, err := encodeState(s)
	if verifyKept && spliced && err == nil {
		if want, werr := json.Marshal(s); werr == nil && !bytes.Equal(b, want) {
			panic(fmt.Sprintf("core: EncodeState of %s differs from json.Marshal (a change of a command its kept encoding missed?):\n got  %s\n want %s", s.WorkflowID, b, want))
		}
	}
	return b, err
}

func encodeState(s *WorkflowState) (b []byte, spliced bool, err error) {
	total := 0
	for _, m := range s.Methods {
		total += len(m.Commands) + len(m.Steps)
		if m.Current != nil {
			total += m.Current.Node.size()
		}
	}
	if total < encodeCacheFrom {
		b, err = json.Marshal(s)
		return b, false, err
	}
	// A placeholder is a list of one command, or a step node, with an id
	// of its own; should the rest of the state hold the same bytes, the
	// state is encoded plainly (see below).
	const tag = "\x00weft-splice"
	var splices []splice
	shallow := *s
	shallow.Methods = make([]*MethodRun, len(s.Methods))
	for i, m := range s.Methods {
		shallow.Methods[i] = m
		if len(m.Commands) == 0 && len(m.Steps) == 0 && m.Current == nil {
			continue
		}
		mc := *m
		shallow.Methods[i] = &mc
		if len(m.Commands) > 0 {
			size := 2
			for _, c := range m.Commands {
				b, err := c.encoding()
				if err != nil {
					return nil, false, err
				}
				size += len(b) + 1
			}
			id := fmt.Sprintf("weft-commands-%d-%s", i, tag)
			mc.Commands = []*Command{{ID: id}}
			mark, err := json.Marshal(mc.Commands)
			if err != nil {
				return nil, false, err
			}
			cmds := m.Commands
			splices = append(splices, splice{mark: mark, size: size, value: func(out []byte) []byte {
				out = append(out, '[')
				for k, c := range cmds {
					if k > 0 {
						out = append(out, ',')
					}
					out = append(out, c.enc.b...)
				}
				return append(out, ']')
			}})
		}
		if len(m.Steps) > 0 {
			size := 2
			for _, st := range m.Steps {
				b, err := st.encoding()
				if err != nil {
					return nil, false, err
				}
				size += len(b) + 1
			}
			id := fmt.Sprintf("weft-steps-%d-%s", i, tag)
			mc.Steps = []*Step{{Hash: id}}
			mark, err := json.Marshal(mc.Steps)
			if err != nil {
				return nil, false, err
			}
			steps := m.Steps
			splices = append(splices, splice{mark: mark, size: size, value: func(out []byte) []byte {
				out = append(out, '[')
				for k, st := range steps {
					if k > 0 {
						out = append(out, ',')
					}
					out = append(out, st.enc.b...)
				}
				return append(out, ']')
			}})
		}
		if st := m.Current; st != nil && st.Node.Op != OpID {
			node, err := st.nodeEncoding()
			if err != nil {
				return nil, false, err
			}
			id := fmt.Sprintf("weft-node-%d-%s", i, tag)
			cur := *st
			cur.Node = StepNode{Op: OpID, CommandID: id}
			mc.Current = &cur
			mark, err := json.Marshal(cur.Node)
			if err != nil {
				return nil, false, err
			}
			splices = append(splices, splice{mark: mark, size: len(node), value: func(out []byte) []byte { return append(out, node...) }})
		}
	}
	head, err := json.Marshal(&shallow)
	if err != nil {
		return nil, false, err
	}
	size := len(head)
	for k := range splices {
		sp := &splices[k]
		if sp.at = bytes.Index(head, sp.mark); sp.at < 0 {
			return nil, false, fmt.Errorf("encode state of %s: a placeholder went missing", s.WorkflowID)
		}
		if bytes.Index(head[sp.at+len(sp.mark):], sp.mark) >= 0 {
			// The data holds a placeholder's bytes: no telling which is which.
			b, err = json.Marshal(s)
			return b, false, err
		}
		size += sp.size
	}
	slices.SortFunc(splices, func(a, b splice) int { return a.at - b.at })
	out := make([]byte, 0, size)
	from := 0
	for _, sp := range splices {
		out = append(out, head[from:sp.at]...)
		out = sp.value(out)
		from = sp.at + len(sp.mark)
	}
	return append(out, head[from:]...), true, nil
}

// splice is a placeholder in the encoded head of a state (mark, found at
// at) and what replaces it.
type splice struct {
	mark  []byte
	at    int
	size  int
	value func(out []byte) []byte
}

// encodeCacheFrom is the number of commands and step nodes from which
// EncodeState splices kept encodings: below, encoding them all costs less.
const encodeCacheFrom = 8

// encoded is a command's kept encoding, with what it was taken of: a
// command changes only by a new status (appended) and a retry (RetrySeq),
// and a copy with its own statuses has another array under them.
type encoded struct {
	b        []byte
	statuses int
	first    *Status
	retrySeq int
}

func (c *Command) encoding() ([]byte, error) {
	first := c.firstStatus()
	if c.enc.b != nil && c.enc.statuses == len(c.Statuses) && c.enc.first == first && c.enc.retrySeq == c.RetrySeq {
		return c.enc.b, nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	c.enc = encoded{b: b, statuses: len(c.Statuses), first: first, retrySeq: c.RetrySeq}
	return b, nil
}

// verifyKept makes core check what it keeps in memory to go faster
// against what it stands for, and panic when they differ
// (WEFT_TEST_CORE_VERIFY=1, which the project's test targets set): EncodeState's
// bytes against json.Marshal's, the command index against a scan, a kept
// step evaluation against a whole one. A change the kept values do not see
// is then found by the suites.
var verifyKept = os.Getenv("WEFT_TEST_CORE_VERIFY") == "1"

func (c *Command) firstStatus() *Status {
	if len(c.Statuses) > 0 {
		return &c.Statuses[0]
	}
	return nil
}

// nodeEncoding is the encoding of the step's tree, kept: a tree never
// changes once its step is recorded.
func (s *Step) nodeEncoding() ([]byte, error) {
	if s.nodeEnc == nil {
		b, err := json.Marshal(s.Node)
		if err != nil {
			return nil, err
		}
		s.nodeEnc = b
	}
	return s.nodeEnc, nil
}

// size is the number of nodes of the tree.
func (n StepNode) size() int {
	k := 1
	for _, c := range n.Children {
		k += c.size()
	}
	return k
}

// stepEncoded is a decided step's kept encoding, with what it was taken of
// (a decided step does not change; these would show it if it did).
type stepEncoded struct {
	b          []byte
	outcome    *Outcome
	indexAtEnd int64
	propsAtEnd string
}

func (s *Step) encoding() ([]byte, error) {
	if s.enc.b != nil && s.enc.outcome == s.Outcome && s.enc.indexAtEnd == s.IndexAtEnd && s.enc.propsAtEnd == s.PropsAtEnd {
		return s.enc.b, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	s.enc = stepEncoded{b: b, outcome: s.Outcome, indexAtEnd: s.IndexAtEnd, propsAtEnd: s.PropsAtEnd}
	return b, nil
}

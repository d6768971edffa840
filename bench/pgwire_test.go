package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"net"
	"strings"
	"sync"
	"sync/atomic"
)

// wireCounts is what a pgWire saw on every connection through it: the
// client's statements (extended-protocol Executes and simple Queries), the
// round trips (each ReadyForQuery is the end of one: pgx waits for it
// before it sends again) and the transactions ended (a ReadyForQuery that
// reports an idle session: an implicit transaction or an explicit COMMIT,
// read-only ones included).
type wireCounts struct {
	statements, roundTrips, transactions, notifications int64
}

func (c wireCounts) minus(o wireCounts) wireCounts {
	return wireCounts{
		statements:    c.statements - o.statements,
		roundTrips:    c.roundTrips - o.roundTrips,
		transactions:  c.transactions - o.transactions,
		notifications: c.notifications - o.notifications,
	}
}

// pgWire is a loopback TCP proxy to a PostgreSQL server that counts
// protocol messages: what every driver of a process sends and gets back,
// whatever the driver. It requires clients that do not ask for TLS
// (sslmode=disable), since it reads the plain protocol.
type pgWire struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	statements, roundTrips, transactions, notifications atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// byText counts statements by their text (first line), as Parse
	// named them and Bind or Query ran them.
	named  map[string]string
	byText map[string]int64
}

func startPgWire(target string) (*pgWire, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &pgWire{target: target, ln: ln, conns: map[net.Conn]struct{}{}, named: map[string]string{}, byText: map[string]int64{}}
	p.wg.Go(p.serve)
	return p, nil
}

func (p *pgWire) addr() string { return p.ln.Addr().String() }

func (p *pgWire) counts() wireCounts {
	return wireCounts{
		statements:    p.statements.Load(),
		roundTrips:    p.roundTrips.Load(),
		transactions:  p.transactions.Load(),
		notifications: p.notifications.Load(),
	}
}

func (p *pgWire) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *pgWire) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.pipe(c) })
	}
}

func (p *pgWire) pipe(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.copy(s, c, true) })
	wg.Go(func() { p.copy(c, s, false) })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// note records the statement a Parse names, or that a Bind or Query runs.
// Unnamed statements are counted at their Parse.
func (p *pgWire) note(typ byte, body []byte) {
	cstr := func(b []byte) (string, []byte) {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return string(b), nil
		}
		return string(b[:i]), b[i+1:]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch typ {
	case 'P':
		name, rest := cstr(body)
		text, _ := cstr(rest)
		text = strings.Join(strings.Fields(text), " ")
		if name == "" {
			p.byText[text]++
		} else {
			p.named[name] = text
		}
	case 'B':
		_, rest := cstr(body)
		if name, _ := cstr(rest); name != "" {
			p.byText[p.named[name]]++
		}
	case 'Q':
		text, _ := cstr(body)
		p.byText[strings.Join(strings.Fields(text), " ")]++
	}
}

// statementCounts copies the counts by statement text.
func (p *pgWire) statementCounts() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.byText)
}

// copy forwards src to dst message by message, counting. The client's
// first message (the startup packet) has no type byte; every later
// message, and every message of the server, is a type byte and a length.
func (p *pgWire) copy(dst, src net.Conn, fromClient bool) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	r := bufio.NewReaderSize(src, 64<<10)
	w := bufio.NewWriterSize(dst, 64<<10)
	var hdr [5]byte
	first := fromClient
	for {
		var typ byte
		if first {
			if _, err := io.ReadFull(r, hdr[1:5]); err != nil {
				return
			}
			first = false
		} else {
			if _, err := io.ReadFull(r, hdr[:5]); err != nil {
				return
			}
			typ = hdr[0]
		}
		n := int64(binary.BigEndian.Uint32(hdr[1:5])) - 4
		if n < 0 {
			return
		}
		if typ == 0 {
			_, err := w.Write(hdr[1:5])
			if err != nil {
				return
			}
		} else if _, err := w.Write(hdr[:5]); err != nil {
			return
		}
		var status byte
		if !fromClient && typ == 'Z' && n == 1 {
			b, err := r.ReadByte()
			if err != nil {
				return
			}
			status = b
			if err := w.WriteByte(b); err != nil {
				return
			}
		} else if fromClient && (typ == 'P' || typ == 'B' || typ == 'Q') {
			body := make([]byte, n)
			if _, err := io.ReadFull(r, body); err != nil {
				return
			}
			if _, err := w.Write(body); err != nil {
				return
			}
			p.note(typ, body)
		} else if _, err := io.CopyN(w, r, n); err != nil {
			return
		}
		switch {
		case fromClient && (typ == 'E' || typ == 'Q'):
			p.statements.Add(1)
		case !fromClient && typ == 'Z':
			p.roundTrips.Add(1)
			if status == 'I' {
				p.transactions.Add(1)
			}
		case !fromClient && typ == 'A':
			p.notifications.Add(1)
		}
		// Forward at once when nothing more is buffered: the peer may be
		// waiting for this message.
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil && !errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}
}

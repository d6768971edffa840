package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// peerBinary is the DBOS command of bench/peers/dbos, built on first use
// into a temporary directory removed when the benchmark ends.
type peerBinary struct {
	dir, bin string
	err      error
}

func newPeerBinary(b testing.TB) *peerBinary {
	dir, err := os.MkdirTemp("", "weft-peers-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return &peerBinary{dir: dir}
}

// path builds the command once (a separate module: `go build` in its
// directory) and returns its path; a failed build fails every caller.
func (p *peerBinary) path(b testing.TB) string {
	if p.bin == "" && p.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		bin := filepath.Join(p.dir, "dbos-peer")
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
		cmd.Dir = filepath.Join("peers", "dbos")
		if out, err := cmd.CombinedOutput(); err != nil {
			p.err = fmt.Errorf("go build in bench/peers/dbos: %v\n%s", err, out)
		} else {
			p.bin = bin
			b.Logf("built bench/peers/dbos in %v", time.Since(start).Round(time.Millisecond))
		}
	}
	if p.err != nil {
		b.Fatal(p.err)
	}
	return p.bin
}

// runPeerDBOS runs the peer workload once on DBOS, in a process of its
// own against the PostgreSQL at pgURL (passed in its environment, not on
// its command line), and returns the figures it printed.
func runPeerDBOS(b testing.TB, w peerWorkload, bin, pgURL string) peerFigures {
	ctx, cancel := context.WithTimeout(context.Background(), 31*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"-workflows", strconv.Itoa(w.workflows), "-steps", strconv.Itoa(stepsPerWorkflow),
		"-inflight", strconv.Itoa(w.inflight), "-warmup", strconv.Itoa(w.warmup()),
		"-single", strconv.Itoa(w.single), "-timeout", "30m")
	cmd.Env = append(os.Environ(), "PEERS_POSTGRES_URL="+pgURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("dbos: %v\n%s", err, tailOf(stderr.Bytes(), 4096))
	}
	f, err := parsePeerFigures(stdout.Bytes())
	if err != nil {
		b.Fatalf("dbos: %v; stderr:\n%s", err, tailOf(stderr.Bytes(), 4096))
	}
	if stderr.Len() > 0 {
		b.Logf("dbos logged:\n%s", tailOf(stderr.Bytes(), 2048))
	}
	return f
}

// parsePeerFigures reads the last line of the command's output.
func parsePeerFigures(out []byte) (peerFigures, error) {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	var f peerFigures
	if err := json.Unmarshal(lines[len(lines)-1], &f); err != nil {
		return f, fmt.Errorf("its output is not a line of figures: %v: %q", err, tailOf(out, 512))
	}
	if f.System == "" || f.StepsPerS <= 0 {
		return f, fmt.Errorf("its figures are empty: %q", tailOf(out, 512))
	}
	return f, nil
}

func tailOf(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

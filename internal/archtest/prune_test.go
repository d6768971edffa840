package archtest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/linkfix"
)

// reflectMethods builds pkg with the flags and tags and returns the chains
// (from the program's entry) to every function the linker reached that
// can call a method by an index or name it cannot see: each one makes it
// keep every exported method of every type used as an interface.
func reflectMethods(t *testing.T, pkg, tags string, flags []string) []string {
	t.Helper()
	args := append([]string{"build"}, flags...)
	args = append(args, "-trimpath", "-tags", tags, "-ldflags=-dumpdep", "-o", filepath.Join(t.TempDir(), "bin"), pkg)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build %s (tags %q): %v\n%.2000s", rel(pkg), tags, err, stderr.String())
	}
	parent := map[string]string{}
	var found []string
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		from, to, ok := strings.Cut(sc.Text(), " -> ")
		if !ok {
			continue
		}
		reflectMethod := strings.Contains(to, "<ReflectMethod>")
		from, _, _ = strings.Cut(from, " <")
		to, _, _ = strings.Cut(to, " <")
		if _, seen := parent[to]; !seen {
			parent[to] = from
			if reflectMethod {
				found = append(found, to)
			}
		}
	}
	var chains []string
	for _, sym := range found {
		chain := []string{sym}
		for s := sym; parent[s] != "" && parent[s] != "_" && len(chain) < 30; s = parent[s] {
			chain = append(chain, parent[s])
		}
		chains = append(chains, strings.Join(chain, " <- "))
	}
	return chains
}

// TestRoleBinariesLetTheLinkerPruneMethods: a role binary built as make
// functions builds it (with linkfix's flags) reaches no function that
// calls a method by a run-time index or name, on every profile: so the
// linker drops the exported methods nothing calls (a third of a Pulsar
// binary). Without the flags, the Pulsar client's reflect2 does reach one;
// when that stops (a reflect2 release with the fix), linkfix is no longer
// needed.
func TestRoleBinariesLetTheLinkerPruneMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("builds role binaries")
	}
	flags, err := linkfix.BuildFlags(context.Background(), ".", filepath.Join(t.TempDir(), "linkfix"))
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) == 0 {
		t.Fatal("linkfix prints no flags, but the module's reflect2 embeds reflect.Type")
	}
	for _, c := range []struct{ pkg, tags string }{
		{module + "/functions/state-engine", "weft_custom weft_pulsar weft_redis"},
		{module + "/functions/executor", "weft_custom weft_pulsar weft_postgres"},
		{module + "/functions/event-listener", "weft_custom weft_pgqueue weft_postgres"},
		{module + "/functions/tag-engine", ""}, // every driver
		{module + "/functions/executor", "lambda.norpc weft_custom weft_lambda weft_postgres"},
	} {
		if chains := reflectMethods(t, c.pkg, c.tags, flags); len(chains) > 0 {
			t.Errorf("%s with tags %q reaches %d functions that call methods by run-time index or name, so the linker keeps every exported method; the first: %s",
				rel(c.pkg), c.tags, len(chains), chains[0])
		}
	}
	if chains := reflectMethods(t, module+"/functions/state-engine", "weft_custom weft_pulsar weft_redis", nil); len(chains) == 0 {
		t.Error("without linkfix's flags, the Pulsar state engine prunes methods too: reflect2 no longer needs the fix; drop internal/linkfix")
	} else if !strings.Contains(chains[0], "reflect2") {
		t.Errorf("without linkfix's flags, what keeps the methods is no longer reflect2 but: %s", chains[0])
	}
}

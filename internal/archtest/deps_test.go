// Package archtest enforces the dependency direction of DESIGN §3 with the
// go tool's own view of the imports, so a wrong import fails CI instead of
// relying on review.
package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/weftio/weft"

// imports maps every package of the module to its direct imports.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	if len(m) < 10 {
		t.Fatalf("go list found only %d packages", len(m))
	}
	return m
}

func rel(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }

func isStd(p string) bool { return !strings.Contains(strings.Split(p, "/")[0], ".") }

// driverOf returns "storage" or "transport" and the driver name for a
// concrete driver package (not the seam, not the conformance suite).
func driverOf(p string) (family, name string) {
	parts := strings.Split(rel(p), "/")
	if len(parts) >= 2 && (parts[0] == "storage" || parts[0] == "transport") && !strings.HasSuffix(parts[1], "test") {
		return parts[0], parts[1]
	}
	return "", ""
}

func TestDependencyDirection(t *testing.T) {
	for pkg, deps := range imports(t) {
		r := rel(pkg)
		fam, drv := driverOf(pkg)
		for _, d := range deps {
			rd := rel(d)
			inModule := strings.HasPrefix(d, module)
			switch {
			case r == "core" && !isStd(d):
				t.Errorf("core imports %s: core may use the standard library only", d)
			case r == "core" && inModule:
				t.Errorf("core imports %s: core imports nothing from the module", d)
			}
			if !inModule {
				continue
			}
			dfam, ddrv := driverOf(d)
			switch {
			case fam != "" && dfam != "" && (dfam != fam || ddrv != drv):
				t.Errorf("driver %s imports driver %s: drivers never import each other", r, rd)
			case (r == "functions" || strings.HasPrefix(r, "functions/")) && dfam != "":
				t.Errorf("%s imports the concrete driver %s: functions work on the seams only", r, rd)
			case strings.HasPrefix(r, "adapters/") && dfam == "storage":
				t.Errorf("%s imports the storage driver %s: adapters never touch storage drivers", r, rd)
			case (r == "" || r == "core" || strings.HasPrefix(r, "storage") || strings.HasPrefix(r, "transport")) &&
				(strings.HasPrefix(rd, "functions") || strings.HasPrefix(rd, "adapters") || strings.HasPrefix(rd, "internal/bootstrap")):
				t.Errorf("%s imports %s: the dependency direction is core ← weft, storage, transport ← functions ← adapters ← bootstrap", r, rd)
			case strings.HasPrefix(r, "examples") && strings.HasPrefix(rd, "internal"):
				t.Errorf("example %s imports %s: examples use public packages only", r, rd)
			}
		}
	}
}

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
			case r == "functions" && dfam != "":
				t.Errorf("%s imports the concrete driver %s: functions work on the seams only", r, rd)
			case (r == "app" || r == "internal/cli" || r == "internal/bootstrap" || r == "internal/config") &&
				(dfam != "" && ddrv != "memory" || strings.HasPrefix(rd, "adapters/pulsar-functions") || rd == "adapters/eventsink" ||
					rd == "app/pulsarfunctions" || rd == "internal/pfdeploy"):
				t.Errorf("%s imports %s: drivers and runtimes are linked only when a main imports them", r, rd)
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

// TestSharedHelpersImportNoDriver: drivers may share code through internal
// packages (internal/pgsetup holds what storage/postgres and
// transport/pgqueue have in common), but such a package must not import a
// driver, directly or not, or drivers would reach each other through it.
func TestSharedHelpersImportNoDriver(t *testing.T) {
	for _, v := range helperViolations(imports(t)) {
		t.Error(v)
	}
}

// helperViolations lists the internal packages imported by a driver that
// import a driver themselves, directly or through other packages of the
// module.
func helperViolations(m map[string][]string) []string {
	var out []string
	seen := map[string]bool{}
	for pkg, deps := range m {
		if fam, _ := driverOf(pkg); fam == "" {
			continue
		}
		for _, d := range deps {
			if !strings.HasPrefix(rel(d), "internal/") || seen[d] {
				continue
			}
			seen[d] = true
			if via := reachesDriver(m, d, map[string]bool{}); via != "" {
				out = append(out, rel(pkg)+" imports "+rel(d)+", which imports the driver "+via+": shared helpers must not import drivers")
			}
		}
	}
	return out
}

// reachesDriver returns a driver that pkg imports, directly or through other
// packages of the module, or "".
func reachesDriver(m map[string][]string, pkg string, visited map[string]bool) string {
	visited[pkg] = true
	for _, d := range m[pkg] {
		if !strings.HasPrefix(d, module) || visited[d] {
			continue
		}
		if fam, _ := driverOf(d); fam != "" {
			return rel(d)
		}
		if via := reachesDriver(m, d, visited); via != "" {
			return via
		}
	}
	return ""
}

func TestHelperViolationsSeesIndirectImports(t *testing.T) {
	m := map[string][]string{
		module + "/storage/postgres":    {module + "/internal/pgsetup", "fmt"},
		module + "/transport/pgqueue":   {module + "/internal/pgsetup", module + "/internal/other"},
		module + "/internal/pgsetup":    {"github.com/jackc/pgx/v5"},
		module + "/internal/other":      {module + "/internal/deeper"},
		module + "/internal/deeper":     {module + "/storage/redis"},
		module + "/storage/redis":       nil,
		module + "/storage/storagetest": nil,
	}
	got := helperViolations(m)
	if len(got) != 1 || !strings.Contains(got[0], "internal/other") || !strings.Contains(got[0], "storage/redis") {
		t.Fatalf("violations = %q, want internal/other reaching storage/redis", got)
	}
}

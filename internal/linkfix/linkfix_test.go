package linkfix

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fake writes a package like reflect2's: a wrapper embedding reflect.Type
// (or naming it, when fixed), with methods of its own, one of them named
// as a reflect.Type method.
func fake(t *testing.T, fixed bool) string {
	t.Helper()
	dir := t.TempDir()
	field := "reflect.Type"
	if fixed {
		field = "Type reflect.Type"
	}
	files := map[string]string{
		"go.mod": "module example.com/fake\n\ngo 1.12\n",
		"safe_type.go": "package fake\n\nimport \"reflect\"\n\n// The wrapper.\ntype safeType struct {\n\t" + field + "\n\tcfg int\n}\n\n" +
			"func (t *safeType) Elem() Wrapped { return Wrapped{t.Type.Elem()} }\n",
		"other.go": "package fake\n\nimport \"reflect\"\n\n// Wrapped is what Elem returns.\ntype Wrapped struct{ T reflect.Type }\n\n" +
			"func (t safeType) Implements(u Wrapped) bool { return t.Type.Implements(u.T) }\n\n" +
			"// Kinds uses a forwarded method on the wrapper.\nfunc Kinds(t reflect.Type) reflect.Kind { return (&safeType{Type: t}).Kind() }\n",
		"other_test.go": "package fake\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRewriteNamesTheFieldAndForwards: the wrapper's embedded reflect.Type
// becomes a field named Type; the added file forwards the exported
// reflect.Type methods the wrapper does not define, but none that looks a
// method up by index or name; and the package builds.
func TestRewriteNamesTheFieldAndForwards(t *testing.T) {
	dir := fake(t, false)
	files, err := Rewrite(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, fwd := string(files["safe_type.go"]), string(files["zz_weft_linkfix.go"])
	if len(files) != 2 || st == "" || fwd == "" {
		t.Fatalf("files %v, want safe_type.go and zz_weft_linkfix.go", keys(files))
	}
	if !strings.Contains(st, "Type reflect.Type") || !strings.Contains(st, "// The wrapper.") {
		t.Errorf("safe_type.go does not name the field (or lost its comments):\n%s", st)
	}
	for _, want := range []string{"func (t safeType) Kind() reflect.Kind { return t.Type.Kind() }",
		"func (t safeType) ConvertibleTo(a0 reflect.Type) bool { return t.Type.ConvertibleTo(a0) }",
		"func (t safeType) NumMethod() int", "func (t safeType) String() string"} {
		if !strings.Contains(fwd, want) {
			t.Errorf("the forwarders lack %q:\n%s", want, fwd)
		}
	}
	for _, not := range []string{") Method(", ") MethodByName(", ") Methods(", ") Elem(", ") Implements(", ") common(", ") Fields("} {
		if strings.Contains(fwd, not) {
			t.Errorf("the forwarders define %q:\n%s", not, fwd)
		}
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "vet", ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the rewritten package does not build: %v\n%s", err, out)
	}
	// Rewritten, it embeds reflect.Type no more: a second pass has nothing to do.
	if again, err := Rewrite(dir); err != nil || again != nil {
		t.Errorf("Rewrite of the rewritten package = %v, %v; want nothing", keys(again), err)
	}
}

// TestRewriteLeavesAFixedVersion: a wrapper that names its reflect.Type
// needs no rewrite.
func TestRewriteLeavesAFixedVersion(t *testing.T) {
	files, err := Rewrite(fake(t, true))
	if err != nil || files != nil {
		t.Errorf("Rewrite = %v, %v; want nothing", keys(files), err)
	}
}

// TestRewriteRefusesAWrapperThatIsNoStruct: a version whose wrapper is no
// longer a struct is an error naming it, not a silent pass.
func TestRewriteRefusesAWrapperThatIsNoStruct(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "safe_type.go"), []byte("package fake\n\ntype safeType int\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Rewrite(dir); err == nil || !strings.Contains(err.Error(), "safeType is not a struct") {
		t.Errorf("Rewrite = %v, want safeType is not a struct", err)
	}
}

// TestBuildFlagsForAModuleWithoutReflect2: a module that does not use
// reflect2 builds with no flags, and nothing is written for it.
func TestBuildFlagsForAModuleWithoutReflect2(t *testing.T) {
	mod := t.TempDir()
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/plain\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "linkfix")
	flags, err := BuildFlags(context.Background(), mod, out)
	if err != nil || flags != nil {
		t.Fatalf("BuildFlags = %q, %v; want none", flags, err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("BuildFlags wrote %s for a module that needs nothing", out)
	}
}

// TestBuildFlagsForThisModule: weft's module uses a reflect2 that embeds
// reflect.Type: the flags name a go.mod that replaces it by the rewritten
// copy, and the module's own go.mod is left as it was.
func TestBuildFlagsForThisModule(t *testing.T) {
	root := filepath.Join("..", "..")
	before, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	flags, err := BuildFlags(context.Background(), root, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != 1 || flags[0] != "-modfile="+filepath.Join(out, "go.mod") {
		t.Fatalf("flags %q, want -modfile=%s", flags, filepath.Join(out, "go.mod"))
	}
	mod, err := os.ReadFile(filepath.Join(out, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "replace "+Package+" => "+filepath.Join(out, "reflect2")) {
		t.Errorf("the build's go.mod does not replace reflect2:\n%s", mod)
	}
	if _, err := os.Stat(filepath.Join(out, "go.sum")); err != nil {
		t.Errorf("no go.sum beside the build's go.mod: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "reflect2", "zz_weft_linkfix.go")); err != nil {
		t.Errorf("the copy has no forwarders: %v", err)
	}
	after, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || string(after) != string(before) {
		t.Errorf("the module's go.mod changed (%v)", err)
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// Package linkfix prepares the build of the role binaries so that the
// linker can drop the methods they never call.
//
// The Go linker keeps every exported method of every type that reaches an
// interface as soon as the program can call reflect's Method or
// MethodByName with a name it cannot see at link time. The Pulsar client
// links github.com/modern-go/reflect2 (through its Avro and JSON codecs),
// whose v1.0.2 type wrapper embeds reflect.Type: its promoted Method and
// MethodByName forward a run-time index or name to reflect, and they are
// kept because protobuf (also linked by the Pulsar client) calls
// reflect.Type.MethodByName. One such method is enough to keep the whole
// program's exported methods: every go-redis command, every pgx type's
// method, the Kubernetes types of the client's OAuth2 provider. reflect2's
// repository holds the fix (the wrapper names its reflect.Type instead of
// embedding it) but no release carries it.
//
// BuildFlags applies that fix at build time, to a copy of the version the
// build uses, written next to the binaries (the module cache and the
// module's go.mod are left alone): the wrapper's embedded reflect.Type
// becomes a field of the same name, and a file added to the package
// forwards every exported reflect.Type method the wrapper does not define
// itself, except the three that take methods by index or name (Method,
// MethodByName, Methods), which nothing calls on a reflect2 type, and the
// iterators newer than reflect2's language version. When that version no
// longer embeds reflect.Type, or the build does not use reflect2, the
// build needs no flag.
//
// (Go 1.26's reflect.Type.Methods iterator made protobuf before v1.36.12
// defeat the same pruning on its own: go.mod requires a later one.)
package linkfix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Package is the package the overlay rewrites.
const Package = "github.com/modern-go/reflect2"

// wrapper is the type whose embedded reflect.Type the overlay names.
const wrapper = "safeType"

// byMethod are the reflect.Type methods that look methods up by index or
// name; the wrapper does not forward them.
var byMethod = []string{"Method", "MethodByName", "Methods"}

// BuildFlags prepares, under outDir, the build of the module in
// moduleDir with reflect2's fix, and returns the go build flags that use
// it: -modfile naming a copy of the module's go.mod (and go.sum) that
// replaces reflect2 by a rewritten copy of the version the build uses.
// The module's own files are not touched. It returns no flags when the
// build uses no reflect2, or one that no longer embeds reflect.Type.
func BuildFlags(ctx context.Context, moduleDir, outDir string) ([]string, error) {
	dir, err := packageDir(ctx, moduleDir)
	if err != nil || dir == "" {
		return nil, err
	}
	files, err := Rewrite(dir)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", Package, dir, err)
	}
	if files == nil {
		return nil, nil
	}
	outDir, err = filepath.Abs(outDir)
	if err != nil {
		return nil, err
	}
	gomod, err := goEnv(ctx, moduleDir, "GOMOD")
	if err != nil {
		return nil, err
	}
	if gomod == "" || gomod == os.DevNull {
		return nil, fmt.Errorf("%s is not in a module", moduleDir)
	}
	// The patched copy: the version's files, the rewritten ones over them.
	copyDir := filepath.Join(outDir, "reflect2")
	if err := os.RemoveAll(copyDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(copyDir, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, "_test.go") || !(strings.HasSuffix(name, ".go") || name == "go.mod" || name == "LICENSE") {
			continue
		}
		src, ok := files[name]
		if !ok {
			if src, err = os.ReadFile(filepath.Join(dir, name)); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(copyDir, name), src, 0o644); err != nil {
			return nil, err
		}
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(copyDir, name), src, 0o644); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(copyDir, "go.mod")); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(filepath.Join(copyDir, "go.mod"), []byte("module "+Package+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	// The module's go.mod and go.sum, with the replacement.
	modfile := filepath.Join(outDir, "go.mod")
	for _, f := range [][2]string{{gomod, modfile}, {strings.TrimSuffix(gomod, ".mod") + ".sum", filepath.Join(outDir, "go.sum")}} {
		b, err := os.ReadFile(f[0])
		if errors.Is(err, os.ErrNotExist) {
			continue // a module without go.sum
		}
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(f[1], b, 0o644); err != nil {
			return nil, err
		}
	}
	edit := exec.CommandContext(ctx, "go", "mod", "edit", "-modfile="+modfile, "-replace="+Package+"="+copyDir)
	edit.Dir = moduleDir
	if out, err := edit.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go mod edit: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return []string{"-modfile=" + modfile}, nil
}

// packageDir is the directory of the reflect2 the module's build uses, or
// "" when it uses none.
func packageDir(ctx context.Context, moduleDir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", Package)
	cmd.Dir = moduleDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if strings.Contains(msg, "no required module provides package") || strings.Contains(msg, "cannot find module providing package") {
			return "", nil
		}
		return "", fmt.Errorf("go list %s: %v: %s", Package, err, strings.TrimSpace(msg))
	}
	return strings.TrimSpace(string(out)), nil
}

// goEnv reads one go env variable as seen from dir.
func goEnv(ctx context.Context, dir, name string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", name)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Rewrite returns the rewritten files for the reflect2 package in dir, by
// base name: the wrapper's file with the embedded reflect.Type named, and
// the added file of forwarding methods. It returns none when the wrapper
// does not embed reflect.Type.
func Rewrite(dir string) (map[string][]byte, error) {
	fset := token.NewFileSet()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var (
		declared = map[string]bool{} // methods the wrapper defines
		target   *ast.File
		path     string
		pkgName  string
		field    *ast.Field
	)
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		pkgName = f.Name.Name
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil && len(d.Recv.List) == 1 && receiverName(d.Recv.List[0].Type) == wrapper {
					declared[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					ts, ok := s.(*ast.TypeSpec)
					if !ok || ts.Name.Name != wrapper {
						continue
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						return nil, fmt.Errorf("%s is not a struct", wrapper)
					}
					for _, fl := range st.Fields.List {
						if len(fl.Names) == 0 && isReflectType(fl.Type) {
							field, target, path = fl, f, name
						}
					}
				}
			}
		}
	}
	if field == nil {
		return nil, nil // nothing embeds reflect.Type: a fixed version
	}
	field.Names = []*ast.Ident{ast.NewIdent("Type")}
	var src bytes.Buffer
	if err := format.Node(&src, fset, target); err != nil {
		return nil, err
	}
	fwd, err := forwarders(pkgName, declared)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(path)
	added := "zz_weft_linkfix.go"
	if slices.ContainsFunc(names, func(n string) bool { return filepath.Base(n) == added }) {
		return nil, errors.New("the package already has a file named " + added)
	}
	return map[string][]byte{base: src.Bytes(), added: fwd}, nil
}

// forwarders is the source of the added file: one method per exported
// reflect.Type method the wrapper does not define, calling its field.
func forwarders(pkgName string, declared map[string]bool) ([]byte, error) {
	reflectPkg, err := importer.ForCompiler(token.NewFileSet(), "source", nil).Import("reflect")
	if err != nil {
		return nil, fmt.Errorf("type-check reflect: %w", err)
	}
	iface, ok := reflectPkg.Scope().Lookup("Type").Type().Underlying().(*types.Interface)
	if !ok {
		return nil, errors.New("reflect.Type is not an interface")
	}
	imports := map[string]string{}
	qualify := func(p *types.Package) string {
		imports[p.Path()] = p.Name()
		return p.Name()
	}
	var body bytes.Buffer
	for i := 0; i < iface.NumMethods(); i++ {
		m := iface.Method(i)
		if !m.Exported() || declared[m.Name()] || slices.Contains(byMethod, m.Name()) {
			continue
		}
		sig := m.Type().(*types.Signature)
		if generic(sig) {
			// The iterators of Go 1.23 and later (Fields, Ins, Outs):
			// reflect2's module is of a language version without type
			// parameters, and its code predates them.
			continue
		}
		var params, args []string
		for j := 0; j < sig.Params().Len(); j++ {
			p := sig.Params().At(j)
			name := fmt.Sprintf("a%d", j)
			typ := types.TypeString(p.Type(), qualify)
			if sig.Variadic() && j == sig.Params().Len()-1 {
				typ = "..." + types.TypeString(p.Type().(*types.Slice).Elem(), qualify)
				name += "..."
				params = append(params, fmt.Sprintf("a%d %s", j, typ))
			} else {
				params = append(params, name+" "+typ)
			}
			args = append(args, name)
		}
		var results []string
		for j := 0; j < sig.Results().Len(); j++ {
			results = append(results, types.TypeString(sig.Results().At(j).Type(), qualify))
		}
		res := strings.Join(results, ", ")
		if len(results) > 1 {
			res = "(" + res + ")"
		}
		ret := "return "
		if len(results) == 0 {
			ret = ""
		}
		fmt.Fprintf(&body, "func (t %s) %s(%s) %s { %st.Type.%s(%s) }\n\n",
			wrapper, m.Name(), strings.Join(params, ", "), res, ret, m.Name(), strings.Join(args, ", "))
	}
	paths := make([]string, 0, len(imports))
	for p := range imports {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var src bytes.Buffer
	fmt.Fprintf(&src, "// Code generated by weft's internal/linkfix; DO NOT EDIT.\n\n")
	fmt.Fprintf(&src, "// The reflect.Type methods %s no longer gets by embedding reflect.Type.\n\npackage %s\n\n", wrapper, pkgName)
	if len(paths) > 0 {
		src.WriteString("import (\n")
		for _, p := range paths {
			fmt.Fprintf(&src, "\t%q\n", p)
		}
		src.WriteString(")\n\n")
	}
	src.Write(body.Bytes())
	return format.Source(src.Bytes())
}

// generic reports whether a signature spells an instantiated type.
func generic(sig *types.Signature) bool {
	for _, tup := range []*types.Tuple{sig.Params(), sig.Results()} {
		for i := 0; i < tup.Len(); i++ {
			if n, ok := tup.At(i).Type().(*types.Named); ok && n.TypeArgs().Len() > 0 {
				return true
			}
		}
	}
	return false
}

// receiverName is the type name of a method's receiver (T or *T).
func receiverName(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// isReflectType reports whether e spells reflect.Type.
func isReflectType(e ast.Expr) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok || s.Sel.Name != "Type" {
		return false
	}
	x, ok := s.X.(*ast.Ident)
	return ok && x.Name == "reflect"
}

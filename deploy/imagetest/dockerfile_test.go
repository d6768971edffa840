package imagetest

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// A line-based reading of the Dockerfile: BuildKit's parser would bring
// its module's requirements into go.mod, and the file keeps to the plain
// syntax (no heredocs; \ continues a line; # starts a comment line).

type instruction struct {
	line    int
	keyword string // upper case
	args    string
}

type stage struct {
	from, name   string
	instructions []instruction
}

func parseDockerfile(t *testing.T, path string) (global []instruction, stages []stage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		sc      = bufio.NewScanner(f)
		n       int
		pending strings.Builder
		start   int
	)
	add := func(text string, line int) {
		kw, args, _ := strings.Cut(strings.TrimSpace(text), " ")
		in := instruction{line: line, keyword: strings.ToUpper(kw), args: strings.TrimSpace(args)}
		if in.keyword == "FROM" {
			fields := strings.Fields(in.args)
			s := stage{from: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			global = append(global, in)
			return
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, in)
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" && pending.Len() == 0 {
			continue // a comment, also inside a continued instruction
		}
		if pending.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			pending.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		pending.WriteString(line)
		add(pending.String(), start)
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if pending.Len() > 0 {
		t.Fatalf("%s: the file ends inside a continued instruction", path)
	}
	return global, stages
}

// argDefault is the default of ARG name among ins ("" when not declared).
func argDefault(ins []instruction, name string) (string, bool) {
	for _, in := range ins {
		if in.keyword != "ARG" {
			continue
		}
		k, v, _ := strings.Cut(in.args, "=")
		if k == name {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

func find(ins []instruction, keyword string) []instruction {
	var out []instruction
	for _, in := range ins {
		if in.keyword == keyword {
			out = append(out, in)
		}
	}
	return out
}

var goBuildOutput = regexp.MustCompile(`go build .* -o (\S+) \./functions/\$\{?ROLE\}?(\s|$)`)

// TestDockerfile: a build stage makes the role's binary as `make
// functions` does (static, stripped, weft-linkfix's flags, the tags of
// DRIVERS, by default the profile of .ko.yaml), and the final stage runs
// it as a nonroot user from an image with nothing else in it.
func TestDockerfile(t *testing.T) {
	_, stages := parseDockerfile(t, "../../Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(stages))
	}
	for _, s := range stages {
		for _, in := range s.instructions {
			if in.keyword == "ADD" && regexp.MustCompile(`(?i)(https?://|git@|\.git\b)`).MatchString(in.args) {
				t.Errorf("line %d: ADD of a remote source %q: the build fetches nothing but modules", in.line, in.args)
			}
		}
	}
	build, final := stages[0], stages[len(stages)-1]
	if final.from != "scratch" && !strings.Contains(final.from, "distroless/static") {
		t.Errorf("final stage FROM %s, want scratch or a distroless static image", final.from)
	}
	for _, arg := range []string{"ROLE", "DRIVERS"} {
		if _, ok := argDefault(build.instructions, arg); !ok {
			t.Errorf("build stage declares no ARG %s", arg)
		}
	}
	if drivers, _ := argDefault(build.instructions, "DRIVERS"); !slices.Equal(profileTags(drivers), koTags(t)) {
		t.Errorf("DRIVERS defaults to %q, tags %q; .ko.yaml builds with %q", drivers, profileTags(drivers), koTags(t))
	}
	var out string
	for _, in := range find(build.instructions, "RUN") {
		m := goBuildOutput.FindStringSubmatch(in.args)
		if m == nil {
			continue
		}
		out = m[1]
		for _, want := range []string{"CGO_ENABLED=0 go build", "-trimpath", "-ldflags='-s -w'", "go run ./cmd/weft-linkfix -dir", "$flags", `-tags "$tags"`, "weft_$d"} {
			if !strings.Contains(in.args, want) {
				t.Errorf("line %d: the go build RUN has no %q", in.line, want)
			}
		}
	}
	if out == "" {
		t.Fatalf("no RUN of go build -o ... ./functions/$ROLE in the build stage")
	}
	var dest string
	for _, in := range find(final.instructions, "COPY") {
		f := strings.Fields(in.args)
		if len(f) == 3 && f[0] == "--from="+build.name && f[1] == out {
			dest = f[2]
		}
	}
	if dest == "" {
		t.Fatalf("the final stage copies no %s from the %s stage", out, build.name)
	}
	users := find(final.instructions, "USER")
	if len(users) == 0 {
		t.Fatalf("the final stage sets no USER: it would run as root")
	}
	if u, _, _ := strings.Cut(users[len(users)-1].args, ":"); u == "0" || u == "root" || u == "" {
		t.Errorf("final USER %q is root", users[len(users)-1].args)
	}
	eps := find(final.instructions, "ENTRYPOINT")
	if len(eps) != 1 {
		t.Fatalf("%d ENTRYPOINTs in the final stage, want one", len(eps))
	}
	var ep []string
	if err := json.Unmarshal([]byte(eps[0].args), &ep); err != nil {
		t.Fatalf("ENTRYPOINT %s is not the exec form (no shell in the image): %v", eps[0].args, err)
	}
	if len(ep) != 1 || ep[0] != dest {
		t.Errorf("ENTRYPOINT %q, want [%q], the binary built", ep, dest)
	}
	if len(find(final.instructions, "RUN")) > 0 {
		t.Errorf("the final stage RUNs commands: it has no shell")
	}
}

// profileTags are the build tags DRIVERS selects, as the Makefile's
// FUNCTION_TAGS.
func profileTags(drivers string) []string {
	if drivers == "all" {
		return nil
	}
	tags := []string{"weft_custom"}
	for _, d := range strings.Fields(drivers) {
		tags = append(tags, "weft_"+d)
	}
	slices.Sort(tags)
	return tags
}

// koTags are the tags of every build in .ko.yaml, which must agree.
func koTags(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../.ko.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ko struct {
		Builds []struct {
			ID    string   `yaml:"id"`
			Main  string   `yaml:"main"`
			Flags []string `yaml:"flags"`
		} `yaml:"builds"`
	}
	if err := yaml.Unmarshal(b, &ko); err != nil {
		t.Fatalf(".ko.yaml: %v", err)
	}
	var tags []string
	for i, bd := range ko.Builds {
		var these []string
		for _, f := range bd.Flags {
			if v, ok := strings.CutPrefix(f, "-tags="); ok {
				these = strings.Split(v, ",")
			}
		}
		slices.Sort(these)
		if i > 0 && !slices.Equal(these, tags) {
			t.Errorf(".ko.yaml: build %s has tags %q, build %s %q", bd.ID, these, ko.Builds[0].ID, tags)
		}
		tags = these
	}
	if len(ko.Builds) != len(roles) {
		t.Errorf(".ko.yaml has %d builds, want one per role", len(ko.Builds))
	}
	want := strings.Split(profile, ",")
	slices.Sort(want)
	if !slices.Equal(tags, want) {
		t.Errorf(".ko.yaml builds with tags %q, TestImages expects %q", tags, want)
	}
	return tags
}

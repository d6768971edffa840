//go:build linux

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/weftio/weft/internal/linkfix"
)

// roleBinaries are the role binaries, in the order BenchmarkRoleBinaries
// starts them: each one's first answer is the next one's waiting message.
var roleBinaries = []string{"tag-engine", "state-engine", "executor", "event-listener"}

// buildRole builds functions/<role> into dir as `make functions` does
// (static, trimmed paths, stripped, linkfix's flags, the profile's driver
// tags) and returns
// its path and size. The file is named after the role, as make names it:
// a role binary prints its ready line under its file name.
func buildRole(ctx context.Context, dir, role string, tags []string) (string, int64, error) {
	bin := filepath.Join(dir, role)
	flags, err := linkfix.BuildFlags(ctx, ".", filepath.Join(dir, ".linkfix"))
	if err != nil {
		return "", 0, err
	}
	args := append([]string{"build"}, flags...)
	args = append(args, "-trimpath", "-ldflags=-s -w",
		"-tags", strings.Join(tags, " "), "-o", bin, "github.com/weftio/weft/functions/"+role)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", 0, fmt.Errorf("go build %s (tags %q): %v\n%s", role, tags, err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return "", 0, err
	}
	return bin, fi.Size(), nil
}

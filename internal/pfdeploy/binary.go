package pfdeploy

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/weftio/weft/internal/config"
)

// binaries returns the binary each role's function runs: dir/<role> with
// -dir, the -binary file, or else this program itself (so a program built
// with app.Main deploys itself). Each is checked here, before the broker
// is asked anything: the functions worker would only report a bad one as
// instances that never start.
func binaries(o options, roles []config.Role, executable func() (string, error)) (map[config.Role]string, error) {
	out := make(map[config.Role]string, len(roles))
	one := o.binary
	if o.dir == "" && one == "" {
		self, err := executable()
		if err != nil {
			return nil, fmt.Errorf("find this program's binary to deploy (give -binary or -dir instead): %w", err)
		}
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			self = resolved
		}
		one = self
	}
	for _, r := range roles {
		path := one
		if o.dir != "" {
			path = filepath.Join(o.dir, string(r))
		}
		if err := checkBinary(path); err != nil {
			hint := ""
			if o.dir != "" {
				hint = " (make functions builds the role binaries into bin/)"
			}
			return nil, fmt.Errorf("binary of the %s role: %w%s", r, err, hint)
		}
		out[r] = path
	}
	return out, nil
}

// checkBinary makes sure path is an executable Linux (ELF) program: the
// functions worker runs it on its own hosts.
func checkBinary(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist", path)
	case err != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("%s is a folder, not a binary", path)
	case st.Mode()&0o111 == 0:
		return fmt.Errorf("%s is not executable (chmod +x it, or build it with go build)", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not a Linux program (ELF), which the functions worker needs: build it with GOOS=linux CGO_ENABLED=0", path)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s is an ELF file but not a program (%v)", path, f.Type)
	}
	return nil
}

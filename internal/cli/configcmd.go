package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
)

// runConfig implements `weft config validate|env`; validate also checks
// the triggers against the program's code.
func runConfig(p Program, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("config takes a subcommand: validate [-file weft.yaml] or env")
	}
	switch args[0] {
	case "env":
		_, err := io.WriteString(out, config.Usage())
		return err
	case "validate":
		fs := flag.NewFlagSet("config validate", flag.ContinueOnError)
		file := fs.String("file", "", "YAML configuration file (default: $WEFT_CONFIG_FILE)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		cfg, err := config.Load(config.Source{File: *file})
		for _, k := range config.Unknown(os.Environ()) {
			fmt.Fprintf(out, "warning: %s is not a weft setting (a typo?)\n", k)
		}
		if err != nil {
			return fmt.Errorf("invalid configuration:\n%w", err)
		}
		reg, err := p.registry(io.Discard)
		if err != nil {
			return err
		}
		if _, err := bootstrap.Triggers(cfg, reg, ""); err != nil {
			return fmt.Errorf("invalid configuration:\n%w", err)
		}
		_, err = io.WriteString(out, cfg.Print())
		return err
	}
	return fmt.Errorf("config: unknown subcommand %q (validate or env)", args[0])
}

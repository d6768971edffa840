package pulsarfunctions

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Usage describes the command line a Pulsar Functions worker gives a Go
// instance.
const Usage = `usage: <binary> -instance-conf '<JSON>' | -instance-conf-path <file.yaml>
  -instance-conf       the instance config as JSON (what the worker passes)
  -instance-conf-path  a YAML file with the same keys (preferred when both are given)
  -help                print this`

// Detect reports whether args (os.Args[1:]) carry an instance config, i.e.
// whether the process was started by a Pulsar Functions worker.
func Detect(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "instance-conf" || name == "instance-conf-path") {
			return true
		}
	}
	return false
}

// ParseArgs reads the instance config from args (os.Args[1:]), the command
// line of the Go instance: -instance-conf <JSON> or -instance-conf-path
// <YAML file> (either with - or --). For -help it returns an error
// wrapping flag.ErrHelp whose text is Usage. It reads POD_NAME for the
// shard id (see InstanceConfig.ShardID).
func ParseArgs(args []string) (*InstanceConfig, error) {
	return parseArgs(args, os.Getenv, os.ReadFile)
}

func parseArgs(args []string, getenv func(string) string, readFile func(string) ([]byte, error)) (*InstanceConfig, error) {
	fs := flag.NewFlagSet("pulsar-functions", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	text := fs.String("instance-conf", "", "")
	path := fs.String("instance-conf-path", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, helpError{}
		}
		return nil, fmt.Errorf("pulsar functions instance: %w\n%s", err, Usage)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("pulsar functions instance: unexpected argument %q\n%s", fs.Arg(0), Usage)
	}
	var (
		doc []byte
		err error
	)
	switch {
	case *path != "":
		// As the Go SDK: the file wins when both are given.
		if doc, err = yamlAsJSON(*path, readFile); err != nil {
			return nil, err
		}
	case *text != "":
		doc = []byte(unquote(*text))
	default:
		return nil, fmt.Errorf("pulsar functions instance: neither -instance-conf nor -instance-conf-path is given\n%s", Usage)
	}
	c, err := decodeConf(doc, getenv("POD_NAME"))
	if err != nil {
		return nil, fmt.Errorf("pulsar functions instance config: %w", err)
	}
	return c, nil
}

type helpError struct{}

func (helpError) Error() string { return Usage }
func (helpError) Unwrap() error { return flag.ErrHelp }

// unquote strips one pair of surrounding single quotes: the Kubernetes
// runtime quotes the JSON for sh -c, and a launcher that does not go
// through a shell would leave them.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}

// yamlAsJSON reads the YAML file and re-encodes it as JSON, so both forms
// go through one decoder.
func yamlAsJSON(path string, readFile func(string) ([]byte, error)) ([]byte, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("pulsar functions instance: read -instance-conf-path: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("pulsar functions instance config %s: %w", path, err)
	}
	if m == nil {
		return nil, fmt.Errorf("pulsar functions instance config %s: the file holds no mapping", path)
	}
	doc, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("pulsar functions instance config %s: %w", path, err)
	}
	return doc, nil
}

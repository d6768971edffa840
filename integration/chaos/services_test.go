package chaos

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// services drives the suite's own PostgreSQL, Redis and Pulsar through
// scripts/services.sh and scripts/pulsar.sh, with the state directory and
// ports of the options, never the shared test services'.
type services struct {
	o       options
	scripts string
	pulsar  bool // started by up
}

func newServices(o options) (*services, error) {
	dir, err := filepath.Abs("../../scripts")
	if err != nil {
		return nil, err
	}
	return &services{o: o, scripts: dir}, nil
}

// env is the scripts' environment: the process's, with every WEFT_TEST_*
// service knob replaced by the suite's own.
func (s *services) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !bytes.HasPrefix([]byte(kv), []byte("WEFT_TEST_")) {
			env = append(env, kv)
		}
	}
	return append(env,
		"WEFT_TEST_SERVICES_DIR="+s.o.dir,
		"WEFT_TEST_PG_PORT="+strconv.Itoa(s.o.pgPort),
		"WEFT_TEST_REDIS_PORT="+strconv.Itoa(s.o.redisPort),
		// everysec writes every acknowledged command to the file before
		// the answer, but may hold writes back while a slow fsync runs;
		// always never does.
		"WEFT_TEST_REDIS_APPENDFSYNC=always",
		"WEFT_TEST_PULSAR_PORT="+strconv.Itoa(s.o.pulsarPort),
		"WEFT_TEST_PULSAR_WEB_PORT="+strconv.Itoa(s.o.webPort),
		"WEFT_TEST_PULSAR_BOOKIE_PORT="+strconv.Itoa(s.o.bookiePort),
		"WEFT_TEST_PULSAR_TIMEOUT=300",
		"WEFT_TEST_SERVICES_TIMEOUT=120",
	)
}

// run runs one script command and returns its combined output on failure.
func (s *services) run(ctx context.Context, script string, args ...string) error {
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(s.scripts, script)}, args...)...)
	cmd.Env = s.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w\n%s", script, args, err, out.String())
	}
	return nil
}

// up starts PostgreSQL and Redis, and Pulsar when a combination needs it.
func (s *services) up(ctx context.Context, pulsar bool) error {
	if err := os.MkdirAll(s.o.dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(s.o.dir, 0o755); err != nil {
		return err
	}
	if err := s.run(ctx, "services.sh", "up", "postgres", "redis"); err != nil {
		return err
	}
	if pulsar {
		s.pulsar = true
		return s.run(ctx, "pulsar.sh", "up")
	}
	return nil
}

// down stops what up started.
func (s *services) down(ctx context.Context) error {
	var err error
	if s.pulsar {
		err = s.run(ctx, "pulsar.sh", "down")
	}
	if e := s.run(ctx, "services.sh", "down", "postgres", "redis"); err == nil {
		err = e
	}
	return err
}

// inject carries out a service fault and returns once the service answers
// again.
func (s *services) inject(ctx context.Context, fault string) error {
	switch fault {
	case "postgres-fast":
		return s.run(ctx, "services.sh", "restart", "--fast", "postgres")
	case "postgres-kill":
		return s.run(ctx, "services.sh", "restart", "--kill", "postgres")
	case "redis-fast":
		return s.run(ctx, "services.sh", "restart", "--fast", "redis")
	case "redis-kill":
		return s.run(ctx, "services.sh", "restart", "--kill", "redis")
	case "pulsar-restart":
		return s.run(ctx, "pulsar.sh", "restart")
	case "pulsar-kill":
		return s.run(ctx, "pulsar.sh", "restart", "--kill")
	}
	return fmt.Errorf("unknown fault %q", fault)
}

func (s *services) postgresURL() string {
	return fmt.Sprintf("postgres://weft:weft@127.0.0.1:%d/weft_test?sslmode=disable", s.o.pgPort)
}

func (s *services) redisURL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.o.redisPort) }

func (s *services) pulsarURL() string { return fmt.Sprintf("pulsar://127.0.0.1:%d", s.o.pulsarPort) }

func (s *services) pulsarAdminURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.o.webPort) }

// settings returns the WEFT_* variables of a worker on combination combo
// ("pulsar+redis"), in namespace ns.
func (s *services) settings(combo, ns string, concurrency int) map[string]string {
	tr, st, _ := cutCombo(combo)
	env := map[string]string{
		"WEFT_STORAGE":               st,
		"WEFT_TRANSPORT":             tr,
		"WEFT_LOG_LEVEL":             "warn",
		"WEFT_WORKER_CONCURRENCY":    strconv.Itoa(concurrency),
		"WEFT_WORKER_SHUTDOWN_GRACE": "5s",
	}
	switch st {
	case "redis":
		env["WEFT_REDIS_URL"] = s.redisURL()
		env["WEFT_REDIS_KEY_PREFIX"] = ns + ":"
	case "postgres":
		env["WEFT_POSTGRES_URL"] = s.postgresURL()
		env["WEFT_POSTGRES_SCHEMA"] = ns
	}
	switch tr {
	case "pulsar":
		env["WEFT_PULSAR_URL"] = s.pulsarURL()
		env["WEFT_PULSAR_ADMIN_URL"] = s.pulsarAdminURL()
		env["WEFT_PULSAR_NAMESPACE"] = ns
	case "pgqueue":
		env["WEFT_PGQUEUE_URL"] = s.postgresURL()
		env["WEFT_PGQUEUE_SCHEMA"] = ns + "_q"
	}
	return env
}

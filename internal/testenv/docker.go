package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	// probeTimeout bounds the check that a Docker engine answers.
	probeTimeout = 2 * time.Second
	// startTimeout bounds pulling an image and starting its container.
	startTimeout = 5 * time.Minute
	// readyTimeout bounds waiting for a started service to be ready.
	readyTimeout = 2 * time.Minute
)

// service describes the container that stands in for one service URL.
type service struct {
	image string
	port  string // container port, "6379/tcp"
	env   map[string]string
	cmd   []string
	files map[string]string // container path → content, copied in before start
	ready wait.Strategy
	// url builds the service URL, in the form of the environment
	// variable, from the mapped host:port.
	url func(hostPort string) string
}

// mariadbInit lets the test user create and drop databases, as the tests
// do (the image grants it rights on MARIADB_DATABASE only).
const mariadbInit = "GRANT ALL PRIVILEGES ON *.* TO 'weft'@'%';\n"

// services maps each URL variable to its container. The settings mirror
// scripts/services.sh: same credentials and connection limits, and the
// same durability: an acknowledged commit survives a kill of the server
// (not a crash of the machine: no fsync).
var services = map[string]service{
	RedisURL: {
		image: "redis:7",
		port:  "6379/tcp",
		cmd:   []string{"redis-server", "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"},
		ready: wait.ForAll(
			wait.ForLog("Ready to accept connections"),
			wait.ForListeningPort("6379/tcp"),
		),
		url: func(hp string) string { return "redis://" + hp + "/0" },
	},
	PostgresURL: {
		image: "postgres:15",
		port:  "5432/tcp",
		env: map[string]string{
			"POSTGRES_USER":     "weft",
			"POSTGRES_PASSWORD": "weft",
			"POSTGRES_DB":       "weft_test",
		},
		cmd: []string{"postgres",
			"-c", "max_connections=200",
			"-c", "fsync=off",
			"-c", "synchronous_commit=on",
			"-c", "full_page_writes=off",
		},
		// The entrypoint runs a temporary server for initialisation first:
		// the second "ready" line is the real server's.
		ready: wait.ForAll(
			wait.ForLog("database system is ready to accept connections").WithOccurrence(2),
			wait.ForListeningPort("5432/tcp"),
		),
		url: func(hp string) string { return "postgres://weft:weft@" + hp + "/weft_test?sslmode=disable" },
	},
	MySQLURL: {
		image: "mariadb:10.11",
		port:  "3306/tcp",
		env: map[string]string{
			"MARIADB_USER":          "weft",
			"MARIADB_PASSWORD":      "weft",
			"MARIADB_DATABASE":      "weft_test",
			"MARIADB_ROOT_PASSWORD": "root",
		},
		cmd: []string{"mariadbd",
			"--max-allowed-packet=64M",
			"--max-connections=300",
			"--character-set-server=utf8mb4",
			"--collation-server=utf8mb4_general_ci",
			"--innodb-flush-log-at-trx-commit=2",
		},
		files: map[string]string{"/docker-entrypoint-initdb.d/10-weft-grants.sql": mariadbInit},
		// The initialisation server listens on no port ("port: 0"); this
		// line is the real server's.
		ready: wait.ForAll(
			wait.ForLog("port: 3306  mariadb.org binary distribution"),
			wait.ForListeningPort("3306/tcp"),
		),
		url: func(hp string) string { return "mysql://weft:weft@" + hp + "/weft_test" },
	},
}

// probeDockerOnce probes once per process: the answer is cached.
var probeDockerOnce = sync.OnceValue(probeDocker)

// probeDocker returns nil when a Docker engine answers within probeTimeout.
// Without DOCKER_HOST, a known socket or a testcontainers configuration
// file it answers at once, without loading the Docker client.
func probeDocker() error {
	if os.Getenv("DOCKER_HOST") == "" {
		if _, ok := firstExisting(dockerCandidates()); !ok {
			return errors.New("DOCKER_HOST is unset and no Docker socket exists (/var/run/docker.sock)")
		}
	}
	return pingDocker(probeTimeout)
}

// dockerCandidates lists the files whose presence makes an engine likely:
// the sockets testcontainers looks for (system, rootless, Docker Desktop)
// and its properties file, which may name a host.
func dockerCandidates() []string {
	c := []string{"/var/run/docker.sock", fmt.Sprintf("/run/user/%d/docker.sock", os.Getuid())}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		c = append(c, filepath.Join(d, "docker.sock"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		c = append(c,
			filepath.Join(h, ".docker", "run", "docker.sock"),
			filepath.Join(h, ".docker", "desktop", "docker.sock"),
			filepath.Join(h, ".testcontainers.properties"),
		)
	}
	return c
}

func firstExisting(paths []string) (string, bool) {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// pingDocker asks the engine for its info through testcontainers' provider
// health check, bounded by timeout.
func pingDocker(timeout time.Duration) error {
	if err := within(timeout, providerHealth); err != nil {
		return fmt.Errorf("the Docker engine does not answer: %w", err)
	}
	return nil
}

func providerHealth(ctx context.Context) error {
	p, err := testcontainers.ProviderDefault.GetProvider()
	if err != nil {
		return err
	}
	return p.Health(ctx) // Health closes the provider.
}

// within runs check and returns its result, or an error once timeout has
// passed. testcontainers' host discovery does not take a context, so check
// runs apart and is abandoned, not waited for, when it overruns.
func within(timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("testcontainers panicked: %v", r)
			}
		}()
		done <- check(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %v", timeout)
	}
}

// starts holds, per URL variable, the one start of its container in this
// process; a failure is kept too, so later tests do not retry a pull.
var starts = func() map[string]func() (string, error) {
	m := make(map[string]func() (string, error), len(services))
	for name, s := range services {
		m[name] = sync.OnceValues(func() (string, error) { return startService(name, s) })
	}
	return m
}()

func startShared(name string) (string, error) {
	start, ok := starts[name]
	if !ok {
		return "", fmt.Errorf("no container is defined for %s", name)
	}
	return start()
}

var (
	runningMu sync.Mutex
	running   []testcontainers.Container
)

// request is the container request for the service whose variable is name.
func request(name string, s service) (testcontainers.GenericContainerRequest, error) {
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{Image: s.image},
		Started:          true,
	}
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(s.port),
		testcontainers.WithCmd(s.cmd...),
		testcontainers.WithWaitStrategyAndDeadline(readyTimeout, s.ready),
		testcontainers.WithLabels(map[string]string{"io.weft.testenv": name}),
	}
	if len(s.env) > 0 {
		opts = append(opts, testcontainers.WithEnv(s.env))
	}
	for path, content := range s.files {
		opts = append(opts, testcontainers.WithFiles(testcontainers.ContainerFile{
			Reader:            strings.NewReader(content),
			ContainerFilePath: path,
			FileMode:          0o644,
		}))
	}
	for _, o := range opts {
		if err := o.Customize(&req); err != nil {
			return req, err
		}
	}
	return req, req.Validate()
}

// startService starts s's container and returns its URL.
func startService(name string, s service) (string, error) {
	req, err := request(name, s)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.image, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := testcontainers.GenericContainer(ctx, req)
	if err != nil {
		_ = testcontainers.TerminateContainer(c)
		return "", fmt.Errorf("%s: %w", s.image, err)
	}
	hostPort, err := c.PortEndpoint(ctx, s.port, "")
	if err != nil {
		_ = testcontainers.TerminateContainer(c)
		return "", fmt.Errorf("%s: address of %s: %w", s.image, s.port, err)
	}
	runningMu.Lock()
	running = append(running, c)
	runningMu.Unlock()
	return s.url(hostPort), nil
}

// Main runs the tests and then removes the containers URL started. The
// reaper removes them anyway when the test binary exits; Main is for
// setups that disable it (TESTCONTAINERS_RYUK_DISABLED=true). Use it as
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	runningMu.Lock()
	cs := running
	running = nil
	runningMu.Unlock()
	for _, c := range cs {
		if err := testcontainers.TerminateContainer(c); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		}
	}
	os.Exit(code)
}

package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeTB records how URL ends a test: Skipf and Fatalf stop the calling
// goroutine as the real ones do.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls l.url on a fake TB and reports what it returned or why it
// stopped.
func run(l lookup, name string) (url string, f *fakeTB) {
	f = &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		url = l.url(f, name)
	}()
	<-done
	return url, f
}

// fakes builds a lookup over env whose probe and start count their calls.
type fakes struct {
	env      map[string]string
	probeErr error
	startURL string
	startErr error

	probes, starts int
	started        []string
}

func (fk *fakes) lookup() lookup {
	return lookup{
		getenv: func(k string) string { return fk.env[k] },
		probe: func() error {
			fk.probes++
			return fk.probeErr
		},
		start: func(name string) (string, error) {
			fk.starts++
			fk.started = append(fk.started, name)
			return fk.startURL, fk.startErr
		},
	}
}

func TestURLFromEnvironmentDoesNotProbe(t *testing.T) {
	const want = "redis://127.0.0.1:6379/0"
	fk := &fakes{env: map[string]string{RedisURL: want}}
	got, f := run(fk.lookup(), RedisURL)
	if got != want || f.skipped != "" || f.failed != "" {
		t.Fatalf("got %q (skip %q, fail %q), want %q", got, f.skipped, f.failed, want)
	}
	if fk.probes != 0 || fk.starts != 0 {
		t.Errorf("probed %d, started %d times; want neither", fk.probes, fk.starts)
	}
}

func TestURLWithoutDockerSkips(t *testing.T) {
	fk := &fakes{env: map[string]string{}, probeErr: errors.New("no Docker socket here")}
	got, f := run(fk.lookup(), PostgresURL)
	if got != "" || f.failed != "" || f.skipped == "" {
		t.Fatalf("got %q (skip %q, fail %q), want a skip", got, f.skipped, f.failed)
	}
	for _, s := range []string{PostgresURL, "no Docker socket here", "skipped"} {
		if !strings.Contains(f.skipped, s) {
			t.Errorf("skip message %q lacks %q", f.skipped, s)
		}
	}
	if fk.probes != 1 || fk.starts != 0 {
		t.Errorf("probed %d, started %d times; want 1 and 0", fk.probes, fk.starts)
	}
}

func TestURLWithoutDockerFailsWhenRequired(t *testing.T) {
	fk := &fakes{
		env:      map[string]string{requireVar: "1"},
		probeErr: errors.New("the Docker engine did not answer within 2s"),
	}
	got, f := run(fk.lookup(), MySQLURL)
	if got != "" || f.skipped != "" || f.failed == "" {
		t.Fatalf("got %q (skip %q, fail %q), want a failure", got, f.skipped, f.failed)
	}
	for _, s := range []string{MySQLURL, "TEST_REQUIRE_INTEGRATION=1", "did not answer within 2s"} {
		if !strings.Contains(f.failed, s) {
			t.Errorf("failure message %q lacks %q", f.failed, s)
		}
	}
}

func TestURLFromContainer(t *testing.T) {
	const want = "mysql://weft:weft@localhost:32768/weft_test"
	fk := &fakes{env: map[string]string{}, startURL: want}
	got, f := run(fk.lookup(), MySQLURL)
	if got != want || f.skipped != "" || f.failed != "" {
		t.Fatalf("got %q (skip %q, fail %q), want %q", got, f.skipped, f.failed, want)
	}
	if fk.probes != 1 || len(fk.started) != 1 || fk.started[0] != MySQLURL {
		t.Errorf("probed %d times, started %v; want 1 probe and a start of %s", fk.probes, fk.started, MySQLURL)
	}
}

func TestURLContainerFailure(t *testing.T) {
	for _, required := range []bool{false, true} {
		t.Run(fmt.Sprintf("required=%v", required), func(t *testing.T) {
			fk := &fakes{env: map[string]string{}, startErr: errors.New("redis:7: pull access denied")}
			if required {
				fk.env[requireVar] = "1"
			}
			got, f := run(fk.lookup(), RedisURL)
			msg := f.skipped
			if required {
				msg = f.failed
				if f.skipped != "" {
					t.Errorf("skipped (%q), want a failure", f.skipped)
				}
			} else if f.failed != "" {
				t.Errorf("failed (%q), want a skip", f.failed)
			}
			if got != "" || msg == "" {
				t.Fatalf("got %q (skip %q, fail %q)", got, f.skipped, f.failed)
			}
			if !strings.Contains(msg, "pull access denied") || !strings.Contains(msg, RedisURL) {
				t.Errorf("message %q does not give the reason", msg)
			}
		})
	}
}

func TestNoDockerSwitch(t *testing.T) {
	fk := &fakes{env: map[string]string{NoDocker: "1"}, startURL: "redis://x:1/0"}
	got, f := run(fk.lookup(), RedisURL)
	if got != "" || f.skipped == "" || !strings.Contains(f.skipped, NoDocker+"=1") {
		t.Fatalf("got %q (skip %q, fail %q), want a skip naming %s", got, f.skipped, f.failed, NoDocker)
	}
	if fk.probes != 0 || fk.starts != 0 {
		t.Errorf("probed %d, started %d times; want neither", fk.probes, fk.starts)
	}
	// The variable still wins over the switch.
	fk.env[RedisURL] = "redis://127.0.0.1:6379/0"
	if got, _ := run(fk.lookup(), RedisURL); got != fk.env[RedisURL] {
		t.Errorf("with %s set got %q", RedisURL, got)
	}
}

func TestUnknownVariableDoesNotProbe(t *testing.T) {
	fk := &fakes{env: map[string]string{}}
	_, f := run(fk.lookup(), "WEFT_TEST_NOSUCH_URL")
	if f.skipped == "" || fk.probes != 0 || fk.starts != 0 {
		t.Fatalf("skip %q, probed %d, started %d; want a skip without probing", f.skipped, fk.probes, fk.starts)
	}
}

func TestServicesBuildURLsLikeTheVariables(t *testing.T) {
	want := map[string]string{
		RedisURL:    "redis://127.0.0.1:49153/0",
		PostgresURL: "postgres://weft:weft@127.0.0.1:49153/weft_test?sslmode=disable",
		MySQLURL:    "mysql://weft:weft@127.0.0.1:49153/weft_test",
	}
	if len(services) != len(want) {
		t.Errorf("%d services, want %d", len(services), len(want))
	}
	for name, u := range want {
		s, ok := services[name]
		if !ok {
			t.Errorf("no service for %s", name)
			continue
		}
		if got := s.url("127.0.0.1:49153"); got != u {
			t.Errorf("%s: url = %q, want %q", name, got, u)
		}
		if s.image == "" || s.port == "" || s.ready == nil || len(s.cmd) == 0 {
			t.Errorf("%s: incomplete service %+v", name, s)
		}
		if _, ok := starts[name]; !ok {
			t.Errorf("%s: no shared start", name)
		}
	}
	files := services[MySQLURL].files
	if len(files) != 1 {
		t.Errorf("mariadb files = %v, want one init script", files)
	}
	for path, sql := range files {
		if !strings.HasPrefix(path, "/docker-entrypoint-initdb.d/") || !strings.HasSuffix(path, ".sql") ||
			!strings.Contains(sql, "GRANT ALL PRIVILEGES ON *.* TO 'weft'@'%'") {
			t.Errorf("mariadb init file %s = %q, want the grant for weft", path, sql)
		}
	}
}

func TestServiceRequests(t *testing.T) {
	for name, s := range services {
		req, err := request(name, s)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if req.Image != s.image || !req.Started || req.WaitingFor == nil {
			t.Errorf("%s: image %q, started %v, wait %v", name, req.Image, req.Started, req.WaitingFor)
		}
		if !slices.Equal(req.ExposedPorts, []string{s.port}) || !slices.Equal(req.Cmd, s.cmd) {
			t.Errorf("%s: ports %v, cmd %v", name, req.ExposedPorts, req.Cmd)
		}
		for k, v := range s.env {
			if req.Env[k] != v {
				t.Errorf("%s: env %s = %q, want %q", name, k, req.Env[k], v)
			}
		}
		if len(req.Files) != len(s.files) {
			t.Errorf("%s: %d files, want %d", name, len(req.Files), len(s.files))
		}
		for _, f := range req.Files {
			b, err := io.ReadAll(f.Reader)
			if err != nil || string(b) != s.files[f.ContainerFilePath] {
				t.Errorf("%s: file %s = %q (%v)", name, f.ContainerFilePath, b, err)
			}
		}
	}
	if c := services[MySQLURL].cmd; !slices.Contains(c, "--max-allowed-packet=64M") {
		t.Errorf("mariadb command %v lacks --max-allowed-packet=64M", c)
	}
}

// TestProbeFailsFast runs the real probe: on a machine without Docker it
// must answer well within the probe's bound, and when Docker is there it
// must answer within the bound as well.
func TestProbeFailsFast(t *testing.T) {
	start := time.Now()
	err := probeDocker()
	if d := time.Since(start); d > probeTimeout+time.Second {
		t.Errorf("probe took %v (err %v), bound %v", d, err, probeTimeout)
	}
	t.Logf("probe: %v", err)
}

// TestWithinBoundsTheCheck checks that the probe gives up after its bound
// when the check does not return, and turns a panic into an error.
func TestWithinBoundsTheCheck(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	err := within(100*time.Millisecond, func(context.Context) error {
		<-release // ignores its context, as testcontainers' discovery does
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "within 100ms") {
		t.Errorf("hung check: err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("hung check: took %v, want about 100ms", d)
	}

	if err := within(time.Second, func(context.Context) error { panic("no docker") }); err == nil || !strings.Contains(err.Error(), "no docker") {
		t.Errorf("panicking check: err = %v", err)
	}
	want := errors.New("Cannot connect to the Docker daemon")
	if err := within(time.Second, func(context.Context) error { return want }); !errors.Is(err, want) {
		t.Errorf("failing check: err = %v, want %v", err, want)
	}
	if err := within(time.Second, func(context.Context) error { return nil }); err != nil {
		t.Errorf("healthy check: err = %v", err)
	}
}

// TestProbeAgainstFakeEngine runs the real probe, through testcontainers,
// against a fake engine on a unix socket that answers the health check, and
// against a socket path where nothing listens. testcontainers caches its
// host discovery per process, so each probe runs in a child process.
func TestProbeAgainstFakeEngine(t *testing.T) {
	dir, empty := t.TempDir(), t.TempDir()
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("no unix sockets here: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Write([]byte("OK"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ID":"fake","OperatingSystem":"fake engine","ServerVersion":"27.0.0"}`))
	})}
	go srv.Serve(l)
	defer srv.Close()

	for _, c := range []struct {
		host   string
		wantOK bool
	}{
		{"unix://" + sock, true},
		{"unix://" + filepath.Join(dir, "absent.sock"), false},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestProbeChild$", "-test.v")
		// HOME, XDG_RUNTIME_DIR: no properties file or rootless socket may
		// offer another engine. GORACE: a -race child would sleep 1s at exit.
		cmd.Env = append(os.Environ(), probeChild+"=1", "DOCKER_HOST="+c.host, "HOME="+empty, "XDG_RUNTIME_DIR="+empty,
			"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("DOCKER_HOST=%s: child took %v", c.host, d)
		}
		if err != nil {
			t.Fatalf("DOCKER_HOST=%s: child: %v\n%s", c.host, err, out)
		}
		ok := strings.Contains(string(out), "probe: <nil>")
		if !c.wantOK && ok && systemEngine() {
			continue // testcontainers fell back to this machine's engine
		}
		if ok != c.wantOK {
			t.Errorf("DOCKER_HOST=%s: probe ok = %v, want %v\n%s", c.host, ok, c.wantOK, out)
		}
	}
}

// systemEngine reports whether this machine has a Docker socket that
// testcontainers finds without DOCKER_HOST.
func systemEngine() bool {
	_, ok := firstExisting([]string{"/var/run/docker.sock", fmt.Sprintf("/run/user/%d/docker.sock", os.Getuid())})
	return ok
}

const probeChild = "WEFT_TESTENV_PROBE_CHILD"

// TestProbeChild is TestProbeAgainstFakeEngine's child process.
func TestProbeChild(t *testing.T) {
	if os.Getenv(probeChild) != "1" {
		t.Skip("runs only as TestProbeAgainstFakeEngine's child")
	}
	t.Logf("probe: %v", probeDockerOnce())
}

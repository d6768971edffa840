// Package testenv gives integration tests the address of a real service
// from the environment. When TEST_REQUIRE_INTEGRATION=1 a missing address
// fails the test instead of skipping it, so CI cannot pass by skipping.
//
// When a service's variable is unset and a Docker engine answers, URL starts
// the service in a container with testcontainers-go instead: one container
// per service per test binary, shared by all its tests and removed by
// testcontainers' reaper (Ryuk) when the binary exits (see Main for setups
// with the reaper disabled). WEFT_TEST_NO_DOCKER=1 turns that fallback off.
package testenv

import (
	"os"
	"testing"
)

// Environment variables holding the test services' URLs.
const (
	RedisURL    = "WEFT_TEST_REDIS_URL"    // redis://127.0.0.1:6379/0
	PostgresURL = "WEFT_TEST_POSTGRES_URL" // postgres://weft:weft@127.0.0.1:5432/weft_test?sslmode=disable
	MySQLURL    = "WEFT_TEST_MYSQL_URL"    // mysql://weft:weft@127.0.0.1:3306/weft_test
	// A second PostgreSQL with fsync and full_page_writes on, as in
	// production, for benchmarks (scripts/services.sh up postgres-durable);
	// no container fallback.
	PostgresDurableURL = "WEFT_TEST_POSTGRES_DURABLE_URL" // postgres://weft:weft@127.0.0.1:55462/weft_test?sslmode=disable
	// Pulsar has no container fallback: scripts/pulsar.sh runs a standalone
	// broker (eval "$(scripts/pulsar.sh env)" sets both).
	PulsarURL      = "WEFT_TEST_PULSAR_URL"       // pulsar://127.0.0.1:56650
	PulsarAdminURL = "WEFT_TEST_PULSAR_ADMIN_URL" // http://127.0.0.1:58080
	// SQS has no container fallback: scripts/elasticmq.sh runs ElasticMQ
	// (eval "$(scripts/elasticmq.sh env)").
	SQSEndpoint = "WEFT_TEST_SQS_ENDPOINT" // http://127.0.0.1:59324
)

// Environment variables of the secured test services (scripts/secured.sh:
// eval "$(scripts/secured.sh env)" sets them all). The URLs carry no
// secret; passwords and the token are read from the files named. There is
// no container fallback.
const (
	SecureCAFile           = "WEFT_TEST_SECURE_CA_FILE"             // the CA that signed every secured server's certificate
	SecurePostgresURL      = "WEFT_TEST_SECURE_PG_URL"              // postgres://weft@127.0.0.1:55452/weft_test?sslmode=verify-full&sslrootcert=...
	SecurePostgresPassword = "WEFT_TEST_SECURE_PG_PASSWORD_FILE"    // file holding user weft's password
	SecureMySQLURL         = "WEFT_TEST_SECURE_MYSQL_URL"           // mysql://weft@127.0.0.1:53326/weft_test?tls=true&tlsCAFile=...
	SecureMySQLPassword    = "WEFT_TEST_SECURE_MYSQL_PASSWORD_FILE" // file holding user weft's password
	SecureRedisURL         = "WEFT_TEST_SECURE_REDIS_URL"           // rediss://weft@127.0.0.1:56399/0?tlsCAFile=...
	SecureRedisPassword    = "WEFT_TEST_SECURE_REDIS_PASSWORD_FILE" // file holding ACL user weft's password
	SecurePulsarURL        = "WEFT_TEST_SECURE_PULSAR_URL"          // pulsar://127.0.0.1:56670 (token authentication)
	SecurePulsarTLSURL     = "WEFT_TEST_SECURE_PULSAR_TLS_URL"      // pulsar+ssl://127.0.0.1:56671
	SecurePulsarAdminURL   = "WEFT_TEST_SECURE_PULSAR_ADMIN_URL"    // http://127.0.0.1:58100
	SecurePulsarTokenFile  = "WEFT_TEST_SECURE_PULSAR_TOKEN_FILE"   // file holding role weft's token
)

// NoDocker is the environment variable that, set to 1, keeps URL from
// starting containers when a service URL is unset.
const NoDocker = "WEFT_TEST_NO_DOCKER"

const requireVar = "TEST_REQUIRE_INTEGRATION"

// Required reports whether integration tests must not skip.
func Required() bool { return os.Getenv(requireVar) == "1" }

// URL returns the value of the environment variable name. When it is unset
// and a Docker engine is reachable, it returns the URL of a container
// started for the service (once per test binary). Otherwise it skips the
// test, or fails it when integration tests are required, saying why no
// container could be used.
func URL(t testing.TB, name string) string {
	t.Helper()
	return std.url(t, name)
}

// std is the lookup URL uses: the process environment, the cached Docker
// probe and the shared containers.
var std = lookup{
	getenv: os.Getenv,
	probe:  probeDockerOnce,
	start:  startShared,
}

// lookup is URL's decision logic with its effects injected, so it can be
// tested without Docker.
type lookup struct {
	getenv func(string) string
	// probe returns nil when a Docker engine answers, else why it cannot
	// be used. It is called only when a container is needed.
	probe func() error
	// start returns the URL of a running container for the service whose
	// variable is name.
	start func(name string) (string, error)
}

// resolve returns the URL for the variable name, or "" and why there is none.
func (l lookup) resolve(name string) (url, why string) {
	if u := l.getenv(name); u != "" {
		return u, ""
	}
	if _, ok := services[name]; !ok {
		return "", "no container is defined for it"
	}
	if l.getenv(NoDocker) == "1" {
		return "", "the Docker fallback is off (" + NoDocker + "=1)"
	}
	if err := l.probe(); err != nil {
		return "", "Docker cannot be used: " + err.Error()
	}
	u, err := l.start(name)
	if err != nil {
		return "", "starting its container failed: " + err.Error()
	}
	return u, ""
}

func (l lookup) url(t testing.TB, name string) string {
	t.Helper()
	u, why := l.resolve(name)
	if u != "" {
		return u
	}
	if l.getenv(requireVar) == "1" {
		t.Fatalf("%s is not set and TEST_REQUIRE_INTEGRATION=1: start the services with `make services-up` and export their URLs (%s)", name, why)
	}
	t.Skipf("%s is not set and %s; integration test skipped (make test-all runs it)", name, why)
	return ""
}

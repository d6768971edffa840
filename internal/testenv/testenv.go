// Package testenv gives integration tests the address of a real service
// from the environment. When TEST_REQUIRE_INTEGRATION=1 a missing address
// fails the test instead of skipping it, so CI cannot pass by skipping.
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
)

// Required reports whether integration tests must not skip.
func Required() bool { return os.Getenv("TEST_REQUIRE_INTEGRATION") == "1" }

// URL returns the value of the environment variable name, or skips the test
// (fails it when integration tests are required).
func URL(t testing.TB, name string) string {
	t.Helper()
	u := os.Getenv(name)
	if u == "" {
		if Required() {
			t.Fatalf("%s is not set and TEST_REQUIRE_INTEGRATION=1: start the services with `make services-up` and export their URLs", name)
		}
		t.Skipf("%s is not set; integration test skipped (make test-all runs it)", name)
	}
	return u
}

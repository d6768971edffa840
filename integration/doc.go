// Package integration runs weft end to end on real services: the example
// workflows on every combination of transport (Apache Pulsar, the
// PostgreSQL queue) and storage (Redis, PostgreSQL, MySQL/MariaDB), and a
// worker process killed mid-workflow and started again.
//
// The services' URLs come from the environment (see internal/testenv and
// `make services-up`); without them the tests skip, or fail when
// TEST_REQUIRE_INTEGRATION=1.
package integration

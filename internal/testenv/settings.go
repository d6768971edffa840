package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
)

// Suffix returns a fresh name part, so runs and tests never share data.
func Suffix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Settings returns the WEFT_* variables that select storage st (memory,
// redis, postgres, mysql) and transport tr (memory, pulsar, pgqueue) on the
// test services, each in a namespace of its own (a key prefix, schema,
// table names or Pulsar namespace named after ns). Like URL, it skips the
// test, or fails it when integration tests are required, when a service's
// URL is missing.
func Settings(t testing.TB, st, tr, ns string) map[string]string {
	t.Helper()
	env := map[string]string{
		"WEFT_STORAGE":   st,
		"WEFT_TRANSPORT": tr,
		"WEFT_LOG_LEVEL": "warn",
	}
	switch st {
	case "memory":
	case "redis":
		env["WEFT_REDIS_URL"] = URL(t, RedisURL)
		env["WEFT_REDIS_KEY_PREFIX"] = ns + ":"
	case "postgres":
		env["WEFT_POSTGRES_URL"] = URL(t, PostgresURL)
		env["WEFT_POSTGRES_SCHEMA"] = ns
	case "mysql":
		env["WEFT_MYSQL_URL"] = URL(t, MySQLURL)
		env["WEFT_MYSQL_KEY_VALUE_TABLE"] = ns + "_kv"
		env["WEFT_MYSQL_KEY_SET_TABLE"] = ns + "_ks"
	default:
		t.Fatalf("testenv: unknown storage %q", st)
	}
	switch tr {
	case "memory":
	case "knative": // the sink is the test's Broker
	case "sqs":
		env["WEFT_SQS_ENDPOINT"] = URL(t, SQSEndpoint)
		env["WEFT_SQS_QUEUE_PREFIX"] = strings.ReplaceAll(ns, "_", "-") + "-"
	case "pulsar":
		env["WEFT_PULSAR_URL"] = URL(t, PulsarURL)
		env["WEFT_PULSAR_ADMIN_URL"] = URL(t, PulsarAdminURL)
		env["WEFT_PULSAR_NAMESPACE"] = ns
	case "pgqueue":
		env["WEFT_PGQUEUE_URL"] = URL(t, PostgresURL)
		env["WEFT_PGQUEUE_SCHEMA"] = ns + "_q"
	default:
		t.Fatalf("testenv: unknown transport %q", tr)
	}
	return env
}

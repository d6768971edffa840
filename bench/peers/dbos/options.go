package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// options are the command's flags.
type options struct {
	url, database, schema string
	keep                  bool
	workflows, steps      int
	inflight, warmup      int
	single                int
	timeout               time.Duration
}

// check fills the defaults and rejects what cannot run.
func (o *options) check() error {
	if o.url == "" {
		return errors.New("no PostgreSQL URL: set PEERS_POSTGRES_URL or -url")
	}
	if o.workflows < 1 || o.steps < 1 || o.inflight < 1 || o.single < 0 {
		return fmt.Errorf("-workflows, -steps and -inflight must be positive and -single not negative (got %d, %d, %d, %d)",
			o.workflows, o.steps, o.inflight, o.single)
	}
	if o.warmup < 0 {
		o.warmup = min(max(o.inflight, o.workflows/3), o.workflows)
	}
	if o.schema == "" {
		var b [5]byte
		_, _ = rand.Read(b[:])
		o.schema = "bench_" + hex.EncodeToString(b[:])
	}
	return nil
}

// systemURL is o.url with its database replaced by o.database.
func (o *options) systemURL() (string, error) {
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("the PostgreSQL URL must be postgres://...")
	}
	if strings.ContainsAny(o.database, "/?#") || o.database == "" {
		return "", fmt.Errorf("-database %q is not a database name", o.database)
	}
	u.Path = "/" + o.database
	return u.String(), nil
}

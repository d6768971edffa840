package postgres

// ParseURL turns a postgres:// (or postgresql://) URL into the Config New
// would use with URL s: the URL's parts, defaults for the rest, and
// URL kept as s. It accepts what libpq accepts in a single-host URL. The
// parameters host, port, user, password, dbname, sslmode, sslrootcert,
// sslcert, sslkey, connect_timeout (whole seconds, at least 1),
// statement_timeout (milliseconds or a Go duration), pool_max_conns,
// pool_min_conns, pool_max_conn_lifetime and pool_max_conn_idle_time (Go
// durations) become fields; any other parameter (application_name,
// target_session_attrs, sslpassword, ...) is passed to pgx as given. Without
// sslmode, a root certificate means verify-full (see Session.SSLMode).
func ParseURL(s string) (Config, error) {
	c, _, err := Config{Server: Server{URL: s}}.resolve()
	if err != nil {
		return Config{}, err
	}
	return c, nil
}

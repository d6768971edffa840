#!/usr/bin/env bash
# Secured test services for weft: the same servers as scripts/services.sh and
# scripts/pulsar.sh, configured the way a production deployment should be,
# each on 127.0.0.1 on ports of its own, so the tests can prove that weft
# connects to them (and fails clearly when it must):
#
#   PostgreSQL  TLS only (hostssl lines only), scram-sha-256 passwords
#   MariaDB     TLS required (require_secure_transport, and REQUIRE SSL for the user)
#   Redis       TLS port only (port 0), ACL user weft, the default user disabled
#   Pulsar      token authentication and authorization (superuser roles admin
#               and weft), on the plain port and on a TLS port; the functions
#               worker and the broker's own admin client authenticate too
#
# A CA and one server certificate (SAN 127.0.0.1 and localhost) are generated
# with openssl into the state directory, and random passwords and tokens,
# which never leave their files (mode 600): `env` names the files.
#
#   scripts/secured.sh up      install what is missing, generate certificates and secrets, start, wait
#   scripts/secured.sh down    stop what `up` started from this state directory
#   scripts/secured.sh status  print whether each service answers (exit 1 if one does not)
#   scripts/secured.sh env     print the export lines:  eval "$(scripts/secured.sh env)"
#
# `up` and `down` need root, as scripts/services.sh.
#
# Environment:
#   WEFT_TEST_SECURE_DIR               state directory (default: <repo>/.services/secured)
#   WEFT_TEST_SECURE_PG_PORT           PostgreSQL port (default 55452)
#   WEFT_TEST_SECURE_MYSQL_PORT        MariaDB port (default 53326)
#   WEFT_TEST_SECURE_REDIS_PORT        Redis TLS port (default 56399)
#   WEFT_TEST_SECURE_PULSAR_PORT       Pulsar broker port, token auth (default 56670)
#   WEFT_TEST_SECURE_PULSAR_TLS_PORT   Pulsar broker TLS port (default 56671)
#   WEFT_TEST_SECURE_PULSAR_WEB_PORT   Pulsar admin port (default 58100)
#   WEFT_TEST_SECURE_PULSAR_BOOKIE_PORT  Pulsar's bookie (default 53201)
#   WEFT_TEST_SECURE_NO_PULSAR         1: leave Pulsar out (up, down, status, env)
#   WEFT_TEST_SERVICES_TIMEOUT         seconds `up` waits for each server (default 60; Pulsar: 180)
set -euo pipefail
set +m

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
HOST=127.0.0.1
PG_PORT=${WEFT_TEST_SECURE_PG_PORT:-55452}
MY_PORT=${WEFT_TEST_SECURE_MYSQL_PORT:-53326}
RD_PORT=${WEFT_TEST_SECURE_REDIS_PORT:-56399}
PS_PORT=${WEFT_TEST_SECURE_PULSAR_PORT:-56670}
PS_TLS_PORT=${WEFT_TEST_SECURE_PULSAR_TLS_PORT:-56671}
PS_WEB_PORT=${WEFT_TEST_SECURE_PULSAR_WEB_PORT:-58100}
PS_BK_PORT=${WEFT_TEST_SECURE_PULSAR_BOOKIE_PORT:-53201}
TIMEOUT=${WEFT_TEST_SERVICES_TIMEOUT:-60}
NO_PULSAR=${WEFT_TEST_SECURE_NO_PULSAR:-}

export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset LANGUAGE

log() { printf 'secured: %s\n' "$*" >&2; }
die() { printf 'secured: error: %s\n' "$*" >&2; exit 1; }

for p in "$PG_PORT" "$MY_PORT" "$RD_PORT" "$PS_PORT" "$PS_TLS_PORT" "$PS_WEB_PORT" "$PS_BK_PORT" "$TIMEOUT"; do
	[[ $p =~ ^[0-9]+$ ]] || die "ports and WEFT_TEST_SERVICES_TIMEOUT must be numbers (got '$p')"
done

# ---------------------------------------------------------------- state dir

# world_traversable DIR: every existing ancestor of DIR lets "others" search
# it, so the postgres and mysql users can reach their files.
world_traversable() {
	local d=$1
	while [[ ! -e $d ]]; do d=$(dirname "$d"); done
	while :; do
		[[ $(stat -Lc '%A' "$d") == ?????????[xt] ]] || return 1
		[[ $d == / ]] && return 0
		d=$(dirname "$d")
	done
}

if [[ -n ${WEFT_TEST_SECURE_DIR:-} ]]; then
	STATE=$WEFT_TEST_SECURE_DIR
	[[ $STATE == /* ]] || STATE=$PWD/$STATE
	world_traversable "$STATE" ||
		die "WEFT_TEST_SECURE_DIR=$STATE: the postgres and mysql users cannot reach it (a parent directory is not o+x)"
else
	STATE=$REPO/.services/secured
	world_traversable "$STATE" ||
		STATE=/var/tmp/weft-secured-$(printf '%s' "$REPO" | cksum | cut -d' ' -f1)
fi

CA_DIR=$STATE/ca
CA=$CA_DIR/ca.pem
CRED=$STATE/credentials
PG_DIR=$STATE/postgres
PG_DATA=$PG_DIR/data
PG_LOG=$PG_DIR/postgres.log
MY_DIR=$STATE/mariadb
MY_DATA=$MY_DIR/data
MY_LOG=$MY_DIR/mariadb.log
MY_PID=$MY_DIR/mariadb.pid
MY_SOCK=$MY_DIR/mariadb.sock
((${#MY_SOCK} <= 100)) || MY_SOCK=/tmp/weft-secured-mariadb-$MY_PORT.sock
RD_DIR=$STATE/redis
RD_LOG=$RD_DIR/redis.log
RD_PID=$RD_DIR/redis.pid
PS_DIR=$STATE/pulsar

# ---------------------------------------------------------------- helpers

need_root() { ((EUID == 0)) || die "'$1' must run as root (apt-get; the servers run as the postgres and mysql users)"; }

as_user() { local u=$1; shift; (cd / && runuser -u "$u" -- "$@"); }

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pid_alive() { [[ -s $1 ]] && kill -0 "$(head -n 1 "$1")" 2>/dev/null; }

show_log() {
	[[ -s $1 ]] || return 0
	log "last lines of $1:"
	tail -n 25 "$1" | sed 's/^/    /' >&2
}

# wait_for NAME LOG CHECK...: poll CHECK until it succeeds or TIMEOUT.
wait_for() {
	local name=$1 logf=$2
	shift 2
	local deadline=$((SECONDS + TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			show_log "$logf"
			die "$name did not become ready within ${TIMEOUT}s; see $logf"
		fi
		sleep 0.5
	done
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
my_client() { command -v mariadb || command -v mysql; }

# secret NAME: the secret in $CRED/NAME, made on first use (letters and
# digits only, so it needs no quoting anywhere).
secret() {
	local f=$CRED/$1
	if [[ ! -s $f ]]; then
		(umask 077 && mkdir -p "$CRED" && head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 >"$f")
	fi
	cat "$f"
}

install_missing() {
	local missing=()
	[[ -n $(pg_bin) ]] || missing+=(postgresql)
	[[ -x /usr/sbin/mariadbd ]] || command -v mariadbd >/dev/null || missing+=(mariadb-server)
	command -v redis-server >/dev/null || missing+=(redis-server)
	command -v openssl >/dev/null || missing+=(openssl)
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	# The packages must not start the system-wide daemons.
	local policy=/usr/sbin/policy-rc.d added=
	[[ -e $policy ]] || { printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added=1; }
	local rc=0
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -q || log "warning: apt-get update reported errors"
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" || rc=$?
	[[ -z $added ]] || rm -f "$policy"
	((rc == 0)) || die "apt-get install ${missing[*]} failed (exit $rc)"
}

# ---------------------------------------------------------------- certificates

# certs: a CA and a server certificate for 127.0.0.1 and localhost, made
# once per state directory; each server gets its own copy of the key, owned
# by the user it runs as.
certs() {
	[[ -s $CA && -s $CA_DIR/server.pem && -s $CA_DIR/server.key ]] && return 0
	log "generating a CA and a server certificate in $CA_DIR"
	mkdir -p "$CA_DIR"
	chmod 755 "$CA_DIR"
	(
		umask 077
		cd "$CA_DIR"
		openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
			-keyout ca.key -out ca.pem -subj "/CN=weft test CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -new -nodes -newkey rsa:2048 -sha256 -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
		printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
			"keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 825 \
			-extfile server.ext -out server.pem 2>/dev/null
		rm -f server.csr server.ext
	) || die "openssl failed to make the certificates"
	chmod 644 "$CA" "$CA_DIR/server.pem"
}

# key_for USER DIR: DIR/server.key, a copy of the server key only USER reads.
key_for() {
	install -m 600 -o "$1" -g "$1" "$CA_DIR/server.key" "$2/server.key"
	install -m 644 -o "$1" -g "$1" "$CA_DIR/server.pem" "$2/server.pem"
	install -m 644 -o "$1" -g "$1" "$CA" "$2/ca.pem"
}

# ---------------------------------------------------------------- postgres

pg_conn() { # pg_conn USER DB: a verify-full connection string
	echo "host=$HOST port=$PG_PORT user=$1 dbname=$2 sslmode=verify-full sslrootcert=$CA connect_timeout=5"
}

pg_ready() { "$(pg_bin)/pg_isready" -q -d "$(pg_conn weft weft_test)" -t 2; }

pg_weft_ok() { PGPASSWORD=$(secret postgres-weft) "$(pg_bin)/psql" -X -q -At -d "$(pg_conn weft weft_test)" -c 'select 1'; }

pg_up() {
	local bin
	bin=$(pg_bin)
	if pg_ready; then
		log "postgres: already answering on $HOST:$PG_PORT"
	else
		port_open "$PG_PORT" && die "postgres: port $PG_PORT is taken (set WEFT_TEST_SECURE_PG_PORT)"
		mkdir -p "$PG_DIR"
		chown postgres:postgres "$PG_DIR"
		chmod 700 "$PG_DIR"
		if [[ ! -s $PG_DATA/PG_VERSION ]]; then
			log "postgres: initdb $PG_DATA"
			rm -rf "$PG_DATA"
			secret postgres-superuser >/dev/null
			install -m 600 -o postgres -g postgres "$CRED/postgres-superuser" "$PG_DIR/pwfile"
			as_user postgres "$bin/initdb" -D "$PG_DATA" -U postgres --pwfile="$PG_DIR/pwfile" \
				--auth-local=reject --auth-host=scram-sha-256 \
				--encoding=UTF8 --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
				{ show_log "$PG_DIR/initdb.log"; die "postgres: initdb failed"; }
			rm -f "$PG_DIR/pwfile"
			echo "include_if_exists = 'weft-secured.conf'" >>"$PG_DATA/postgresql.conf"
		fi
		key_for postgres "$PG_DIR"
		cat >"$PG_DATA/weft-secured.conf" <<-EOF
			# written by scripts/secured.sh
			listen_addresses = '$HOST'
			port = $PG_PORT
			unix_socket_directories = ''
			ssl = on
			ssl_cert_file = '$PG_DIR/server.pem'
			ssl_key_file = '$PG_DIR/server.key'
			ssl_min_protocol_version = 'TLSv1.2'
			password_encryption = 'scram-sha-256'
			max_connections = 100
			fsync = off
			synchronous_commit = off
			full_page_writes = off
		EOF
		# TLS and scram only: a connection without TLS matches no line.
		cat >"$PG_DATA/pg_hba.conf" <<-EOF
			# written by scripts/secured.sh
			hostssl all all $HOST/32 scram-sha-256
		EOF
		chown postgres:postgres "$PG_DATA/weft-secured.conf" "$PG_DATA/pg_hba.conf"
		touch "$PG_LOG"
		chown postgres:postgres "$PG_LOG"
		log "postgres: starting on $HOST:$PG_PORT (log $PG_LOG)"
		as_user postgres setsid -w "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" start >/dev/null 2>&1 9>&- ||
			{ show_log "$PG_LOG"; die "postgres: pg_ctl start failed"; }
	fi
	wait_for postgres "$PG_LOG" pg_ready
	if pg_weft_ok >/dev/null 2>&1; then
		log "postgres: ready"
		return 0
	fi
	[[ -s $CRED/postgres-superuser ]] || die "postgres: the server on $HOST:$PG_PORT was not started from $STATE"
	log "postgres: creating role weft and database weft_test"
	# The password goes through stdin, never a command line.
	{
		echo "SELECT 'CREATE ROLE weft LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'weft') \\gexec"
		echo "ALTER ROLE weft LOGIN CREATEDB PASSWORD '$(secret postgres-weft)';"
		echo "SELECT 'CREATE DATABASE weft_test OWNER weft' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'weft_test') \\gexec"
	} | PGPASSWORD=$(secret postgres-superuser) "$bin/psql" -X -q -v ON_ERROR_STOP=1 -d "$(pg_conn postgres postgres)" >/dev/null ||
		die "postgres: creating the weft role failed (log $PG_LOG)"
	pg_weft_ok >/dev/null || die "postgres: user weft still cannot log in"
	log "postgres: ready"
}

pg_down() {
	if [[ -s $PG_DATA/postmaster.pid ]] && as_user postgres "$(pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
		log "postgres: stopping"
		as_user postgres "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null
	else
		log "postgres: not running"
	fi
}

# ---------------------------------------------------------------- mariadb

my_weft_ok() {
	MYSQL_PWD=$(secret mariadb-weft) "$(my_client)" --no-defaults --connect-timeout=5 --protocol=tcp -h "$HOST" -P "$MY_PORT" \
		--ssl --ssl-ca="$CA" --ssl-verify-server-cert -uweft weft_test -e 'select 1'
}

# Ready: the server answers over TCP; any reply (even a refusal) will do.
my_ready() { [[ -S $MY_SOCK ]] && "$(command -v mariadb-admin || command -v mysqladmin)" --no-defaults --protocol=socket --socket="$MY_SOCK" -uroot ping; }

my_up() {
	if pid_alive "$MY_PID"; then
		log "mariadb: already running"
	else
		port_open "$MY_PORT" && die "mariadb: port $MY_PORT is taken (set WEFT_TEST_SECURE_MYSQL_PORT)"
		mkdir -p "$MY_DIR"
		chown mysql:mysql "$MY_DIR"
		chmod 750 "$MY_DIR"
		if [[ ! -d $MY_DATA/mysql ]]; then
			log "mariadb: mariadb-install-db $MY_DATA"
			rm -rf "$MY_DATA"
			"$(command -v mariadb-install-db || command -v mysql_install_db)" --no-defaults --user=mysql --datadir="$MY_DATA" \
				--auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
				>"$MY_DIR/install-db.log" 2>&1 || { show_log "$MY_DIR/install-db.log"; die "mariadb: install-db failed"; }
		fi
		key_for mysql "$MY_DIR"
		log "mariadb: starting on $HOST:$MY_PORT (log $MY_LOG)"
		setsid -f "$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults --user=mysql --datadir="$MY_DATA" \
			--bind-address="$HOST" --port="$MY_PORT" --socket="$MY_SOCK" \
			--pid-file="$MY_PID" --log-error="$MY_LOG" --skip-name-resolve \
			--ssl-ca="$MY_DIR/ca.pem" --ssl-cert="$MY_DIR/server.pem" --ssl-key="$MY_DIR/server.key" \
			--tls-version=TLSv1.2,TLSv1.3 --require-secure-transport=ON \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
			--max-connections=200 --innodb-flush-log-at-trx-commit=0 \
			</dev/null >>"$MY_DIR/mariadbd.out" 2>&1 9>&-
	fi
	wait_for mariadb "$MY_LOG" my_ready
	if my_weft_ok >/dev/null 2>&1; then
		log "mariadb: ready"
		return 0
	fi
	log "mariadb: creating user weft and database weft_test"
	local pw h
	pw=$(secret mariadb-weft)
	{
		echo "CREATE DATABASE IF NOT EXISTS weft_test CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;"
		for h in 127.0.0.1 localhost; do
			echo "CREATE USER IF NOT EXISTS 'weft'@'$h' IDENTIFIED BY '$pw' REQUIRE SSL;"
			echo "ALTER USER 'weft'@'$h' IDENTIFIED BY '$pw' REQUIRE SSL;"
			echo "GRANT ALL PRIVILEGES ON *.* TO 'weft'@'$h';"
		done
		echo "FLUSH PRIVILEGES;"
	} | "$(my_client)" --no-defaults --protocol=socket --socket="$MY_SOCK" -uroot ||
		die "mariadb: creating the weft user failed (log $MY_LOG)"
	my_weft_ok >/dev/null || die "mariadb: user weft still cannot log in over TLS"
	log "mariadb: ready"
}

my_down() {
	if pid_alive "$MY_PID"; then
		local pid
		pid=$(head -n 1 "$MY_PID")
		log "mariadb: stopping (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + TIMEOUT))
		while kill -0 "$pid" 2>/dev/null; do
			((SECONDS < deadline)) || die "mariadb: pid $pid did not exit within ${TIMEOUT}s"
			sleep 0.2
		done
	else
		log "mariadb: not running"
	fi
}

# ---------------------------------------------------------------- redis

rd_cli() { REDISCLI_AUTH=$(secret redis-weft) redis-cli --no-auth-warning --tls --cacert "$CA" -h "$HOST" -p "$RD_PORT" --user weft "$@"; }

rd_ready() { [[ $(rd_cli ping 2>/dev/null) == PONG ]]; }

rd_up() {
	if pid_alive "$RD_PID"; then
		log "redis: already running"
	else
		port_open "$RD_PORT" && die "redis: port $RD_PORT is taken (set WEFT_TEST_SECURE_REDIS_PORT)"
		mkdir -p "$RD_DIR"
		chmod 700 "$RD_DIR"
		# The configuration holds the password: a file only root reads,
		# never the command line.
		(
			umask 077
			cat >"$RD_DIR/redis.conf" <<-EOF
				# written by scripts/secured.sh
				bind $HOST
				port 0
				tls-port $RD_PORT
				tls-cert-file $CA_DIR/server.pem
				tls-key-file $CA_DIR/server.key
				tls-ca-cert-file $CA
				tls-auth-clients no
				tls-protocols "TLSv1.2 TLSv1.3"
				daemonize yes
				dir $RD_DIR
				pidfile $RD_PID
				logfile $RD_LOG
				save ""
				appendonly no
				user default off
				user weft on >$(secret redis-weft) ~* &* +@all
			EOF
		)
		log "redis: starting on $HOST:$RD_PORT, TLS only (log $RD_LOG)"
		redis-server "$RD_DIR/redis.conf" </dev/null >/dev/null 2>&1 9>&- ||
			{ show_log "$RD_LOG"; die "redis: redis-server failed to start"; }
	fi
	wait_for redis "$RD_LOG" rd_ready
	log "redis: ready"
}

rd_down() {
	if pid_alive "$RD_PID"; then
		local pid
		pid=$(head -n 1 "$RD_PID")
		log "redis: stopping (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + TIMEOUT))
		while kill -0 "$pid" 2>/dev/null; do
			((SECONDS < deadline)) || die "redis: pid $pid did not exit within ${TIMEOUT}s"
			sleep 0.2
		done
	else
		log "redis: not running"
	fi
}

# ---------------------------------------------------------------- pulsar

# jwt SUBJECT: an HS256 token for SUBJECT signed with the broker's secret
# key (what `bin/pulsar tokens create` makes, without starting a JVM).
b64url() { base64 -w 0 | tr '+/' '-_' | tr -d '='; }
jwt() {
	local body sig
	body="$(printf '{"alg":"HS256"}' | b64url).$(printf '{"sub":"%s"}' "$1" | b64url)"
	sig=$(printf '%s' "$body" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(od -An -v -tx1 "$CRED/pulsar-secret.key" | tr -d ' \n')" -binary | b64url)
	printf '%s.%s' "$body" "$sig"
}

ps_files() {
	mkdir -p "$CRED"
	[[ -s $CRED/pulsar-secret.key ]] || (umask 077 && head -c 32 /dev/urandom >"$CRED/pulsar-secret.key")
	local role
	for role in admin weft; do
		[[ -s $CRED/pulsar-$role.token ]] || (umask 077 && jwt "$role" >"$CRED/pulsar-$role.token")
	done
	mkdir -p "$PS_DIR"
	# Set by scripts/pulsar.sh over its defaults. The broker's own clients
	# (the standalone's admin client, the functions worker) authenticate
	# with the admin token; the worker takes these settings from the broker's.
	cat >"$PS_DIR/secured.conf" <<-EOF
		authenticationEnabled=true
		authenticationProviders=org.apache.pulsar.broker.authentication.AuthenticationProviderToken
		tokenSecretKey=file://$CRED/pulsar-secret.key
		authorizationEnabled=true
		superUserRoles=admin,weft
		brokerClientAuthenticationPlugin=org.apache.pulsar.client.impl.auth.AuthenticationToken
		brokerClientAuthenticationParameters=file://$CRED/pulsar-admin.token
		brokerServicePortTls=$PS_TLS_PORT
		tlsCertificateFilePath=$CA_DIR/server.pem
		tlsKeyFilePath=$CA_DIR/server.key
		tlsTrustCertsFilePath=$CA
	EOF
}

pulsar_sh() {
	WEFT_TEST_SERVICES_DIR=$STATE \
		WEFT_TEST_PULSAR_PORT=$PS_PORT WEFT_TEST_PULSAR_WEB_PORT=$PS_WEB_PORT WEFT_TEST_PULSAR_BOOKIE_PORT=$PS_BK_PORT \
		WEFT_TEST_PULSAR_MEM=${WEFT_TEST_SECURE_PULSAR_MEM:--Xms128m -Xmx512m -XX:MaxDirectMemorySize=512m} \
		WEFT_TEST_PULSAR_CONF_EXTRA=$PS_DIR/secured.conf \
		WEFT_TEST_PULSAR_AUTH_TOKEN_FILE=$CRED/pulsar-admin.token \
		bash "$REPO/scripts/pulsar.sh" "$@"
}

# ---------------------------------------------------------------- commands

lock_state() {
	mkdir -p "$STATE"
	chmod 755 "$STATE"
	exec 9>"$STATE/.lock"
	flock -w 600 9 || die "another scripts/secured.sh has held $STATE/.lock for 10 minutes"
}

cmd_up() {
	need_root up
	local t0=$SECONDS ps_pid=
	lock_state
	install_missing
	certs
	if [[ $NO_PULSAR != 1 ]]; then
		# The broker takes longest: it starts while the others do.
		ps_files
		pulsar_sh up 9>&- &
		ps_pid=$!
	fi
	pg_up
	my_up
	rd_up
	if [[ -n $ps_pid ]]; then
		wait "$ps_pid" || die "pulsar: scripts/pulsar.sh up failed"
	fi
	log "up: ready in $((SECONDS - t0))s (state in $STATE)"
}

cmd_down() {
	need_root down
	lock_state
	[[ $NO_PULSAR == 1 ]] || pulsar_sh down
	rd_down
	my_down
	pg_down
}

cmd_status() {
	local rc=0
	pg_ready >/dev/null 2>&1 && printf '%-9s %-16s up (TLS, scram)\n' postgres "$HOST:$PG_PORT" ||
		{ printf '%-9s %-16s down\n' postgres "$HOST:$PG_PORT"; rc=1; }
	my_weft_ok >/dev/null 2>&1 && printf '%-9s %-16s up (TLS required)\n' mariadb "$HOST:$MY_PORT" ||
		{ printf '%-9s %-16s down\n' mariadb "$HOST:$MY_PORT"; rc=1; }
	rd_ready && printf '%-9s %-16s up (TLS only, ACL user)\n' redis "$HOST:$RD_PORT" ||
		{ printf '%-9s %-16s down\n' redis "$HOST:$RD_PORT"; rc=1; }
	if [[ $NO_PULSAR != 1 ]]; then
		pulsar_sh status || rc=1
	fi
	return $rc
}

cmd_env() {
	local s=WEFT_TEST_SECURE
	echo "export ${s}_CA_FILE=$CA"
	echo "export ${s}_PG_URL='postgres://weft@$HOST:$PG_PORT/weft_test?sslmode=verify-full&sslrootcert=$CA'"
	echo "export ${s}_PG_PASSWORD_FILE=$CRED/postgres-weft"
	echo "export ${s}_MYSQL_URL='mysql://weft@$HOST:$MY_PORT/weft_test?tls=true&tlsCAFile=$CA'"
	echo "export ${s}_MYSQL_PASSWORD_FILE=$CRED/mariadb-weft"
	echo "export ${s}_REDIS_URL='rediss://weft@$HOST:$RD_PORT/0?tlsCAFile=$CA'"
	echo "export ${s}_REDIS_PASSWORD_FILE=$CRED/redis-weft"
	if [[ $NO_PULSAR != 1 ]]; then
		echo "export ${s}_PULSAR_URL=pulsar://$HOST:$PS_PORT"
		echo "export ${s}_PULSAR_TLS_URL=pulsar+ssl://$HOST:$PS_TLS_PORT"
		echo "export ${s}_PULSAR_ADMIN_URL=http://$HOST:$PS_WEB_PORT"
		echo "export ${s}_PULSAR_TOKEN_FILE=$CRED/pulsar-weft.token"
	fi
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
-h | --help | help) usage ;;
*) [[ -z ${1:-} ]] || log "unknown command '$1'"; usage ;;
esac

#!/usr/bin/env bash
# Real test services for weft, without Docker: PostgreSQL, MariaDB and Redis
# from the Debian packages, each its own process on 127.0.0.1 only, with its
# data under a project-local state directory.
#
#   scripts/services.sh up     [postgres|postgres-durable|mariadb|redis ...]
#                                                            install if missing, start, wait, create the test user/database
#   scripts/services.sh down   [...]                         stop what `up` started from this state directory
#   scripts/services.sh status [...]                         print whether each service answers (exit 1 if one does not)
#   scripts/services.sh env    [...]                         print the export lines:  eval "$(scripts/services.sh env)"
#   scripts/services.sh restart [--fast|--kill] postgres|postgres-durable|redis ...
#                               stop a server started from this state directory and start it
#                               again on its data: --fast (default) is a clean stop (pg_ctl -m
#                               fast, redis SHUTDOWN), --kill sends SIGKILL to the server and
#                               every process it forked, as a crash would
#
# No service names means postgres, mariadb and redis (restart needs names,
# postgres, postgres-durable or redis); postgres-durable, a second
# PostgreSQL with production durability settings (below) for benchmarks,
# starts only when named. `up` and `down` need root (apt-get, and the
# servers run as the postgres and mysql users); systemd is not used.
#
# Environment:
#   WEFT_TEST_SERVICES_DIR      state directory (default: <repo>/.services)
#   WEFT_TEST_PG_PORT           PostgreSQL port (default 55432)
#   WEFT_TEST_PG_DURABLE_PORT   the durable PostgreSQL's port (default 55462)
#   WEFT_TEST_MYSQL_PORT        MariaDB port    (default 53306)
#   WEFT_TEST_REDIS_PORT        Redis port      (default 56379)
#   WEFT_TEST_SERVICES_TIMEOUT  seconds `up` waits for each server (default 60)
#   WEFT_TEST_REDIS_APPENDFSYNC Redis AOF fsync policy: everysec (default) or always
#
# Durability: a commit PostgreSQL or Redis acknowledged survives a kill -9 of
# the server (PostgreSQL synchronous_commit=on, MariaDB
# innodb_flush_log_at_trx_commit=2, Redis with an append-only file), so the
# chaos suite can kill them. fsync and full_page_writes stay off: they only
# matter when the machine itself crashes, which a disposable test server
# need not survive. postgres-durable (data in <state>/postgres-durable, URL
# in WEFT_TEST_POSTGRES_DURABLE_URL) has them on, as in production, so that
# benchmarks can show what a commit costs there (make bench-peers).
#
# The test credentials are fixed: user weft, password weft, database weft_test.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PG_PORT=${WEFT_TEST_PG_PORT:-55432}
PG_DURABLE_PORT=${WEFT_TEST_PG_DURABLE_PORT:-55462}
MYSQL_PORT=${WEFT_TEST_MYSQL_PORT:-53306}
REDIS_PORT=${WEFT_TEST_REDIS_PORT:-56379}
TIMEOUT=${WEFT_TEST_SERVICES_TIMEOUT:-60}
REDIS_APPENDFSYNC=${WEFT_TEST_REDIS_APPENDFSYNC:-everysec}
HOST=127.0.0.1
ALL_SERVICES=(postgres mariadb redis)

# initdb and the servers fail on a LANG naming a locale that is not generated.
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset LANGUAGE

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

for p in "$PG_PORT" "$PG_DURABLE_PORT" "$MYSQL_PORT" "$REDIS_PORT" "$TIMEOUT"; do
	[[ $p =~ ^[0-9]+$ ]] || die "ports and WEFT_TEST_SERVICES_TIMEOUT must be numbers (got '$p')"
done
[[ $REDIS_APPENDFSYNC == everysec || $REDIS_APPENDFSYNC == always ]] ||
	die "WEFT_TEST_REDIS_APPENDFSYNC must be everysec or always (got '$REDIS_APPENDFSYNC')"

# ---------------------------------------------------------------- state dir

# world_traversable DIR: every existing ancestor of DIR lets "others" search
# it, so the postgres and mysql users can reach their data directories.
world_traversable() {
	local d=$1
	while [[ ! -e $d ]]; do d=$(dirname "$d"); done
	while :; do
		[[ $(stat -Lc '%A' "$d") == ?????????[xt] ]] || return 1
		[[ $d == / ]] && return 0
		d=$(dirname "$d")
	done
}

if [[ -n ${WEFT_TEST_SERVICES_DIR:-} ]]; then
	STATE=$WEFT_TEST_SERVICES_DIR
	[[ $STATE == /* ]] || STATE=$PWD/$STATE
	world_traversable "$STATE" ||
		die "WEFT_TEST_SERVICES_DIR=$STATE: the postgres and mysql users cannot reach it (a parent directory is not o+x)"
else
	STATE=$REPO/.services
	if ! world_traversable "$STATE"; then
		# e.g. a checkout under /root (mode 700): keep the data where the
		# service users can reach it, deterministically per checkout.
		STATE=/var/tmp/weft-services-$(printf '%s' "$REPO" | cksum | cut -d' ' -f1)
		NOTE_STATE="$REPO is not reachable by the postgres/mysql users; using $STATE"
	fi
fi

# pg_select postgres|postgres-durable: point the PG_* settings the
# postgres functions below use at that instance.
pg_select() {
	PG_NAME=$1
	case $1 in
	postgres) PG_DIR=$STATE/postgres PG_FSYNC=off PG_PORT=$PG_TEST_PORT PG_PORT_VAR=WEFT_TEST_PG_PORT ;;
	postgres-durable) PG_DIR=$STATE/postgres-durable PG_FSYNC=on PG_PORT=$PG_DURABLE_PORT PG_PORT_VAR=WEFT_TEST_PG_DURABLE_PORT ;;
	esac
	PG_DATA=$PG_DIR/data
	PG_LOG=$PG_DIR/postgres.log
	PG_PWFILE=$PG_DIR/superuser-password
}
PG_TEST_PORT=$PG_PORT
pg_select postgres

MY_DIR=$STATE/mariadb
MY_DATA=$MY_DIR/data
MY_LOG=$MY_DIR/mariadb.log
MY_PID=$MY_DIR/mariadb.pid
MY_SOCK=$MY_DIR/mariadb.sock
# A unix socket path is limited to 107 bytes.
((${#MY_SOCK} <= 100)) || MY_SOCK=/tmp/weft-mariadb-$MYSQL_PORT.sock

RD_DIR=$STATE/redis
RD_LOG=$RD_DIR/redis.log
RD_PID=$RD_DIR/redis.pid

# ---------------------------------------------------------------- helpers

need_root() {
	((EUID == 0)) || die "'$1' must run as root: it installs packages with apt-get and runs the servers as the postgres and mysql users"
}

first_cmd() { # first_cmd NAME...: path of the first command found
	local c
	for c in "$@"; do
		if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
	done
	return 1
}

pg_bin() { # newest installed PostgreSQL
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[[ -n $d && -x $d/pg_ctl && -x $d/initdb && -x $d/psql && -x $d/pg_isready ]] || return 1
	echo "$d"
}

my_server() { first_cmd mariadbd mysqld || { [[ -x /usr/sbin/mariadbd ]] && echo /usr/sbin/mariadbd; } || { [[ -x /usr/sbin/mysqld ]] && echo /usr/sbin/mysqld; }; }
my_installdb() { first_cmd mariadb-install-db mysql_install_db; }
my_admin() { first_cmd mariadb-admin mysqladmin; }
my_client() { first_cmd mariadb mysql; }

have_service_binaries() {
	case $1 in
	postgres | postgres-durable) pg_bin >/dev/null ;;
	mariadb) my_server >/dev/null && my_installdb >/dev/null && my_admin >/dev/null && my_client >/dev/null ;;
	redis) first_cmd redis-server >/dev/null && first_cmd redis-cli >/dev/null ;;
	esac
}

package_of() {
	case $1 in
	postgres | postgres-durable) echo postgresql ;;
	mariadb) echo mariadb-server ;;
	redis) echo redis-server ;;
	esac
}

as_user() { # as_user USER CMD...: run as a service user, from a directory it can read
	local u=$1
	shift
	(cd / && runuser -u "$u" -- "$@")
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pid_alive() { [[ -s $1 ]] && kill -0 "$(head -n 1 "$1")" 2>/dev/null; }

show_log() {
	if [[ -s $1 ]]; then
		log "last lines of $1:"
		tail -n 25 "$1" | sed 's/^/    /' >&2
	fi
}

# wait_ready NAME PORT LOG CHECK...: poll CHECK until it succeeds or TIMEOUT.
wait_ready() {
	local name=$1 port=$2 logf=$3
	shift 3
	local deadline=$((SECONDS + TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			show_log "$logf"
			die "$name did not become ready on $HOST:$port within ${TIMEOUT}s; see $logf"
		fi
		sleep 0.5
	done
}

# ---------------------------------------------------------------- packages

install_packages() {
	local svc missing=()
	for svc in "$@"; do
		have_service_binaries "$svc" || missing+=("$(package_of "$svc")")
	done
	((${#missing[@]})) || return 0
	command -v apt-get >/dev/null || die "missing ${missing[*]} and apt-get is not available: install them by hand"
	log "installing ${missing[*]} (apt-get update + install)"
	local t0=$SECONDS
	# The packages' maintainer scripts must not start the system-wide
	# daemons (no systemd here: invoke-rc.d would fall back to init scripts).
	local policy=/usr/sbin/policy-rc.d added_policy=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		added_policy=1
	fi
	local rc=0
	export DEBIAN_FRONTEND=noninteractive
	# Wait for a concurrent apt/dpkg instead of failing on its lock.
	apt-get -o DPkg::Lock::Timeout=600 update -q ||
		log "warning: apt-get update reported errors (some repository unreachable?); trying the install anyway"
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" || rc=$?
	[[ -z $added_policy ]] || rm -f "$policy"
	((rc == 0)) || die "apt-get install ${missing[*]} failed (exit $rc)"
	log "installed ${missing[*]} in $((SECONDS - t0))s"
	for svc in "$@"; do
		have_service_binaries "$svc" || die "$svc: $(package_of "$svc") is installed but its programs were not found"
	done
}

# ---------------------------------------------------------------- postgres

pg_ready() { "$(pg_bin)/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2; }

pg_ours() { [[ -s $PG_DATA/postmaster.pid ]] && as_user postgres "$(pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_weft_ok() {
	PGPASSWORD=weft PGCONNECT_TIMEOUT=5 "$(pg_bin)/psql" -X -q -At -h "$HOST" -p "$PG_PORT" -U weft -d weft_test -c 'select 1' >/dev/null 2>&1
}

pg_up() {
	local bin
	bin=$(pg_bin)
	if pg_ready; then
		log "$PG_NAME: already answering on $HOST:$PG_PORT, reusing it"
	else
		port_open "$PG_PORT" && die "$PG_NAME: port $PG_PORT is taken by something that is not a ready PostgreSQL (set $PG_PORT_VAR)"
		mkdir -p "$PG_DIR"
		chown postgres:postgres "$PG_DIR"
		chmod 700 "$PG_DIR"
		if [[ ! -s $PG_DATA/PG_VERSION ]]; then
			log "$PG_NAME: initdb $PG_DATA"
			rm -rf "$PG_DATA"
			if [[ ! -s $PG_PWFILE ]]; then
				(umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$PG_PWFILE")
			fi
			chown postgres:postgres "$PG_PWFILE"
			as_user postgres "$bin/initdb" -D "$PG_DATA" -U postgres --pwfile="$PG_PWFILE" \
				--auth-local=peer --auth-host=scram-sha-256 \
				--encoding=UTF8 --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
				{ show_log "$PG_DIR/initdb.log"; die "$PG_NAME: initdb failed; see $PG_DIR/initdb.log"; }
			echo "include_if_exists = 'weft.conf'" >>"$PG_DATA/postgresql.conf"
		fi
		# Rewritten on every start, so changed ports take effect. TCP on
		# loopback only, no unix socket. A commit is written to the WAL
		# before it is acknowledged (synchronous_commit), so it survives a
		# kill -9 of the server; without fsync it would not survive a crash
		# of the machine, which a disposable test server need not.
		# postgres-durable has fsync and full_page_writes on, as production.
		cat >"$PG_DATA/weft.conf" <<-EOF
			# written by scripts/services.sh
			listen_addresses = '$HOST'
			port = $PG_PORT
			unix_socket_directories = ''
			max_connections = 200
			fsync = $PG_FSYNC
			synchronous_commit = on
			full_page_writes = $PG_FSYNC
		EOF
		chown postgres:postgres "$PG_DATA/weft.conf"
		touch "$PG_LOG"
		chown postgres:postgres "$PG_LOG"
		log "$PG_NAME: starting on $HOST:$PG_PORT (log $PG_LOG)"
		as_user postgres setsid -w "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" start >/dev/null 2>&1 9>&- ||
			{ show_log "$PG_LOG"; die "$PG_NAME: pg_ctl start failed; see $PG_LOG"; }
	fi
	wait_ready "$PG_NAME" "$PG_PORT" "$PG_LOG" pg_ready
	if pg_weft_ok; then
		log "$PG_NAME: ready, user weft and database weft_test present"
		return 0
	fi
	[[ -s $PG_PWFILE ]] || die "$PG_NAME: the server on $HOST:$PG_PORT was not started from $STATE and user weft cannot log in to weft_test"
	log "$PG_NAME: creating role weft and database weft_test"
	PGPASSWORD=$(cat "$PG_PWFILE") "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" -U postgres -d postgres >/dev/null <<-'EOF' ||
		DO $$
		BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'weft') THEN
				CREATE ROLE weft LOGIN CREATEDB PASSWORD 'weft';
			ELSE
				ALTER ROLE weft LOGIN CREATEDB PASSWORD 'weft';
			END IF;
		END
		$$;
		SELECT 'CREATE DATABASE weft_test OWNER weft'
		WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'weft_test') \gexec
		ALTER DATABASE weft_test OWNER TO weft;
	EOF
		die "$PG_NAME: creating the weft role/database failed (log $PG_LOG)"
	pg_weft_ok || die "$PG_NAME: user weft still cannot log in to weft_test"
	log "$PG_NAME: ready"
}

pg_down() {
	if pg_ours; then
		log "$PG_NAME: stopping ($PG_DATA)"
		as_user postgres "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null
	elif pg_bin >/dev/null && pg_ready; then
		log "$PG_NAME: the server on $HOST:$PG_PORT was not started from $STATE; leaving it"
	else
		log "$PG_NAME: not running"
	fi
}

# pg_kill: SIGKILL the postmaster and every process it forked, as a crash
# of the server would, and wait until they are gone. The next start runs
# crash recovery from the WAL.
pg_kill() {
	pg_ours || die "$PG_NAME: no server started from $STATE is running; nothing to kill"
	local pid
	pid=$(head -n 1 "$PG_DATA/postmaster.pid")
	kill_tree "$pid" "$PG_NAME" "$PG_LOG"
}

# ---------------------------------------------------------------- mariadb

# Without --skip-ssl, "host not allowed" (no account for 127.0.0.1 yet) is
# reported inside the TLS handshake and ping fails although the server is up.
my_ready() { "$(my_admin)" --no-defaults --skip-ssl --connect-timeout=2 -h "$HOST" -P "$MYSQL_PORT" --protocol=tcp ping; }

my_ours() { pid_alive "$MY_PID"; }

my_weft_ok() {
	"$(my_client)" --no-defaults --skip-ssl --connect-timeout=5 --protocol=tcp -h "$HOST" -P "$MYSQL_PORT" -uweft -pweft weft_test -e 'select 1' >/dev/null 2>&1
}

my_up() {
	local server
	server=$(my_server)
	if my_ready >/dev/null 2>&1; then
		log "mariadb: already answering on $HOST:$MYSQL_PORT, reusing it"
	else
		port_open "$MYSQL_PORT" && die "mariadb: port $MYSQL_PORT is taken by something that is not MariaDB/MySQL (set WEFT_TEST_MYSQL_PORT)"
		mkdir -p "$MY_DIR"
		chown mysql:mysql "$MY_DIR"
		chmod 750 "$MY_DIR"
		if [[ ! -d $MY_DATA/mysql ]]; then
			log "mariadb: mariadb-install-db $MY_DATA"
			rm -rf "$MY_DATA"
			"$(my_installdb)" --no-defaults --user=mysql --datadir="$MY_DATA" \
				--auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
				>"$MY_DIR/install-db.log" 2>&1 ||
				{ show_log "$MY_DIR/install-db.log"; die "mariadb: mariadb-install-db failed; see $MY_DIR/install-db.log"; }
		fi
		log "mariadb: starting on $HOST:$MYSQL_PORT (log $MY_LOG)"
		setsid -f "$server" --no-defaults --user=mysql --datadir="$MY_DATA" \
			--bind-address="$HOST" --port="$MYSQL_PORT" --socket="$MY_SOCK" \
			--pid-file="$MY_PID" --log-error="$MY_LOG" --skip-name-resolve \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
			--max-connections=300 --innodb-flush-log-at-trx-commit=2 \
			</dev/null >>"$MY_DIR/mariadbd.out" 2>&1 9>&-
	fi
	wait_ready mariadb "$MYSQL_PORT" "$MY_LOG" my_ready
	if my_weft_ok; then
		log "mariadb: ready, user weft and database weft_test present"
		return 0
	fi
	[[ -S $MY_SOCK ]] || die "mariadb: the server on $HOST:$MYSQL_PORT was not started from $STATE and user weft cannot log in to weft_test"
	log "mariadb: creating user weft and database weft_test"
	"$(my_client)" --no-defaults --protocol=socket --socket="$MY_SOCK" -uroot <<-'EOF' ||
		CREATE DATABASE IF NOT EXISTS weft_test CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
		CREATE USER IF NOT EXISTS 'weft'@'127.0.0.1' IDENTIFIED BY 'weft';
		CREATE USER IF NOT EXISTS 'weft'@'localhost' IDENTIFIED BY 'weft';
		ALTER USER 'weft'@'127.0.0.1' IDENTIFIED BY 'weft';
		ALTER USER 'weft'@'localhost' IDENTIFIED BY 'weft';
		GRANT ALL PRIVILEGES ON *.* TO 'weft'@'127.0.0.1';
		GRANT ALL PRIVILEGES ON *.* TO 'weft'@'localhost';
		FLUSH PRIVILEGES;
	EOF
		die "mariadb: creating the weft user/database failed (log $MY_LOG)"
	my_weft_ok || die "mariadb: user weft still cannot log in to weft_test"
	log "mariadb: ready"
}

my_down() {
	if my_ours; then
		local pid
		pid=$(head -n 1 "$MY_PID")
		log "mariadb: stopping (pid $pid)"
		"$(my_admin)" --no-defaults --protocol=socket --socket="$MY_SOCK" -uroot shutdown >/dev/null 2>&1 ||
			kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + TIMEOUT))
		while kill -0 "$pid" 2>/dev/null; do
			((SECONDS < deadline)) || die "mariadb: pid $pid did not exit within ${TIMEOUT}s; see $MY_LOG"
			sleep 0.2
		done
	elif my_admin >/dev/null && my_ready >/dev/null 2>&1; then
		log "mariadb: the server on $HOST:$MYSQL_PORT was not started from $STATE; leaving it"
	else
		log "mariadb: not running"
	fi
}

# ---------------------------------------------------------------- redis

rd_ready() { [[ $(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

rd_ours() { pid_alive "$RD_PID"; }

rd_up() {
	if rd_ready; then
		log "redis: already answering on $HOST:$REDIS_PORT, reusing it"
	else
		port_open "$REDIS_PORT" && die "redis: port $REDIS_PORT is taken by something that is not Redis (set WEFT_TEST_REDIS_PORT)"
		mkdir -p "$RD_DIR"
		log "redis: starting on $HOST:$REDIS_PORT (log $RD_LOG)"
		redis-server --bind "$HOST" --port "$REDIS_PORT" --daemonize yes \
			--dir "$RD_DIR" --pidfile "$RD_PID" --logfile "$RD_LOG" \
			--save "" --appendonly yes --appendfsync "$REDIS_APPENDFSYNC" \
			--aof-use-rdb-preamble yes </dev/null >/dev/null 2>&1 9>&- ||
			{ show_log "$RD_LOG"; die "redis: redis-server failed to start; see $RD_LOG"; }
	fi
	wait_ready redis "$REDIS_PORT" "$RD_LOG" rd_ready
	log "redis: ready"
}

rd_down() {
	if rd_ours; then
		local pid
		pid=$(head -n 1 "$RD_PID")
		log "redis: stopping (pid $pid)"
		redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + TIMEOUT))
		while kill -0 "$pid" 2>/dev/null; do
			((SECONDS < deadline)) || die "redis: pid $pid did not exit within ${TIMEOUT}s; see $RD_LOG"
			sleep 0.2
		done
	elif command -v redis-cli >/dev/null && rd_ready; then
		log "redis: the server on $HOST:$REDIS_PORT was not started from $STATE; leaving it"
	else
		log "redis: not running"
	fi
}

rd_kill() {
	rd_ours || die "redis: no server started from $STATE is running; nothing to kill"
	kill_tree "$(head -n 1 "$RD_PID")" redis "$RD_LOG"
}

# kill_tree PID NAME LOG: SIGKILL PID and its children, wait until all exit.
kill_tree() {
	local pid=$1 name=$2 logf=$3 pids p
	pids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
	log "$name: kill -9 $pid and its children"
	kill -KILL "$pid" 2>/dev/null || true
	for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	local deadline=$((SECONDS + TIMEOUT))
	for p in $pid $pids; do
		# Until init reaps it, a killed process is a zombie that still
		# answers kill -0, and PostgreSQL refuses to start while the pid in
		# its lock file does: wait until it is gone.
		while kill -0 "$p" 2>/dev/null; do
			((SECONDS < deadline)) || { show_log "$logf"; die "$name: pid $p survived SIGKILL for ${TIMEOUT}s"; }
			sleep 0.1
		done
	done
}

# ---------------------------------------------------------------- commands

url_of() {
	case $1 in
	postgres) echo "WEFT_TEST_POSTGRES_URL=postgres://weft:weft@$HOST:$PG_TEST_PORT/weft_test?sslmode=disable" ;;
	postgres-durable) echo "WEFT_TEST_POSTGRES_DURABLE_URL=postgres://weft:weft@$HOST:$PG_DURABLE_PORT/weft_test?sslmode=disable" ;;
	mariadb) echo "WEFT_TEST_MYSQL_URL=mysql://weft:weft@$HOST:$MYSQL_PORT/weft_test" ;;
	redis) echo "WEFT_TEST_REDIS_URL=redis://$HOST:$REDIS_PORT/0" ;;
	esac
}

# lock_state: one `up`/`down` at a time per state directory. The servers are
# started with fd 9 closed so that they do not inherit the lock.
lock_state() {
	mkdir -p "$STATE"
	chmod 755 "$STATE"
	exec 9>"$STATE/.lock"
	if ! flock -n 9; then
		log "waiting for another scripts/services.sh (lock $STATE/.lock)"
		flock -w 600 9 || die "another scripts/services.sh has held $STATE/.lock for 10 minutes"
	fi
}

cmd_up() {
	need_root up
	local t0=$SECONDS svc
	[[ -z ${NOTE_STATE:-} ]] || log "$NOTE_STATE"
	lock_state
	install_packages "$@"
	for svc in "$@"; do
		case $svc in
		postgres | postgres-durable) pg_select "$svc"; pg_up ;;
		mariadb) my_up ;;
		redis) rd_up ;;
		esac
	done
	log "up: $* ready in $((SECONDS - t0))s (state in $STATE)"
}

cmd_down() {
	need_root down
	local svc
	lock_state
	for svc in "$@"; do
		case $svc in
		postgres | postgres-durable) pg_select "$svc"; pg_down ;;
		mariadb) my_down ;;
		redis) rd_down ;;
		esac
	done
}

cmd_restart() {
	need_root restart
	local mode=$1 svc
	shift
	lock_state
	for svc in "$@"; do
		case $svc:$mode in
		postgres:fast | postgres-durable:fast)
			pg_select "$svc"
			pg_ours || die "$PG_NAME: no server started from $STATE is running"
			pg_down
			pg_up
			;;
		postgres:kill | postgres-durable:kill) pg_select "$svc"; pg_kill; pg_up ;;
		redis:fast) rd_ours || die "redis: no server started from $STATE is running"; rd_down; rd_up ;;
		redis:kill) rd_kill; rd_up ;;
		*) die "restart: $svc is not supported (postgres, postgres-durable, redis)" ;;
		esac
	done
}

cmd_status() {
	local svc ok state rc=0 port
	for svc in "$@"; do
		ok=
		case $svc in
		postgres | postgres-durable) pg_select "$svc"; port=$PG_PORT; pg_bin >/dev/null && pg_ready && ok=1 ;;
		mariadb) port=$MYSQL_PORT; my_admin >/dev/null && my_ready >/dev/null 2>&1 && ok=1 ;;
		redis) port=$REDIS_PORT; command -v redis-cli >/dev/null && rd_ready && ok=1 ;;
		esac
		if [[ -n $ok ]]; then state=up; else state=down; rc=1; fi
		printf '%-9s %-16s %s\n' "$svc" "$HOST:$port" "$state"
	done
	return $rc
}

cmd_env() {
	local svc
	for svc in "$@"; do echo "export $(url_of "$svc")"; done
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

main() {
	(($#)) || usage
	local cmd=$1
	shift
	local services=() s mode=fast
	for s in "$@"; do
		case $s in
		--fast) mode=fast ;;
		--kill) mode=kill ;;
		postgres | postgresql | pg) services+=(postgres) ;;
		postgres-durable | pg-durable) services+=(postgres-durable) ;;
		mariadb | mysql) services+=(mariadb) ;;
		redis) services+=(redis) ;;
		*) die "unknown service '$s' (postgres, postgres-durable, mariadb, redis)" ;;
		esac
	done
	if ((${#services[@]} == 0)); then
		[[ $cmd != restart ]] || die "restart: name the services (postgres, redis)"
		services=("${ALL_SERVICES[@]}")
	fi
	case $cmd in
	restart) cmd_restart "$mode" "${services[@]}" ;;
	up) cmd_up "${services[@]}" ;;
	down) cmd_down "${services[@]}" ;;
	status) cmd_status "${services[@]}" ;;
	env) cmd_env "${services[@]}" ;;
	-h | --help | help) usage ;;
	*) log "unknown command '$cmd'"; usage ;;
	esac
}

main "$@"

#!/usr/bin/env bash
# An SQS-compatible server for weft's tests, without Docker: ElasticMQ's
# runtime jars from Maven Central, fetched once into a cache folder, run as
# the current user on 127.0.0.1 only, with its state and logs under the
# project state directory. Queues live in memory: `up` after `down` starts
# empty.
#
#   scripts/elasticmq.sh up      fetch the jars if needed, start, wait until the SQS API answers
#   scripts/elasticmq.sh down    stop the server `up` started from this state directory (TERM, then KILL)
#   scripts/elasticmq.sh status  print whether it answers (exit 1 if it does not)
#   scripts/elasticmq.sh env     print the export line:  eval "$(scripts/elasticmq.sh env)"
#
# Needs Java 17+ and Maven (mvn) on PATH; nothing runs as root. The server
# enforces SQS's limits (sqs-limits = strict); its statistics REST API is off.
#
# Environment:
#   WEFT_TEST_SERVICES_DIR          state directory (default: <repo>/.services, as scripts/services.sh); state in <state>/elasticmq
#   WEFT_CACHE_DIR                  where the jars are kept (default: $HOME/.cache/weft)
#   WEFT_TEST_SQS_PORT              the SQS API's port (default 59324)
#   WEFT_TEST_SQS_TIMEOUT           seconds `up` waits for the server to answer (default 60)
#   WEFT_TEST_SQS_STOP_TIMEOUT      seconds `down` waits after SIGTERM before SIGKILL (default 15)
#   WEFT_TEST_SQS_MEM               JVM memory flags (default "-Xms64m -Xmx512m")
#   WEFT_MAVEN_REPO                 local Maven repository (default: $HOME/.m2/repository)
set -euo pipefail
set +m

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VERSION=1.6.11
ARTIFACT=org.elasticmq:elasticmq-server_2.13:$VERSION
HOST=127.0.0.1
PORT=${WEFT_TEST_SQS_PORT:-59324}
TIMEOUT=${WEFT_TEST_SQS_TIMEOUT:-60}
STOP_TIMEOUT=${WEFT_TEST_SQS_STOP_TIMEOUT:-15}
MEM=${WEFT_TEST_SQS_MEM:--Xms64m -Xmx512m}
CACHE=${WEFT_CACHE_DIR:-$HOME/.cache/weft}
M2=${WEFT_MAVEN_REPO:-$HOME/.m2/repository}

log() { printf 'elasticmq: %s\n' "$*" >&2; }
die() { printf 'elasticmq: error: %s\n' "$*" >&2; exit 1; }

for p in "$PORT" "$TIMEOUT" "$STOP_TIMEOUT"; do
	[[ $p =~ ^[0-9]+$ ]] || die "the port and timeouts must be numbers (got '$p')"
done

# ---------------------------------------------------------------- state dir

# The same choice as scripts/services.sh, so all test services keep their
# state side by side. (ElasticMQ runs as the current user, so the traversal
# test only matters for agreeing with services.sh.)
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
else
	STATE=$REPO/.services
	world_traversable "$STATE" ||
		STATE=/var/tmp/weft-services-$(printf '%s' "$REPO" | cksum | cut -d' ' -f1)
fi

DIR=$STATE/elasticmq
CONF=$DIR/emq.conf
PIDFILE=$DIR/elasticmq.pid
OUT=$DIR/stdout.log

DIST=$CACHE/elasticmq-$VERSION
ENDPOINT=http://$HOST:$PORT

# ---------------------------------------------------------------- helpers

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# answers: the SQS API replies to a ListQueues call (any credentials do).
answers() {
	local body='Action=ListQueues&Version=2012-11-05'
	if command -v curl >/dev/null 2>&1; then
		[[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
			--data "$body" "$ENDPOINT/" 2>/dev/null || true) == 200 ]]
		return
	fi
	# No curl: a bare HTTP/1.0 request over bash's /dev/tcp.
	local line
	line=$(
		exec 3<>"/dev/tcp/$HOST/$PORT" || exit 0
		printf 'POST / HTTP/1.0\r\nHost: %s:%s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s' \
			"$HOST" "$PORT" "${#body}" "$body" >&3
		timeout 5 head -n 1 <&3
	) 2>/dev/null || true
	[[ $line =~ ^HTTP/[0-9.]+\ 200 ]]
}

pid_alive() { [[ -s $PIDFILE ]] && kill -0 "$(head -n 1 "$PIDFILE")" 2>/dev/null; }

show_log() {
	if [[ -s $OUT ]]; then
		log "last lines of $OUT:"
		tail -n 30 "$OUT" | sed 's/^/    /' >&2
	fi
}

# lock FD FILE: hold FILE's lock on descriptor FD (8 or 9), one holder at a
# time, waiting up to 10 minutes. The server is started with both closed.
lock() {
	local fd=$1 f=$2
	mkdir -p "$(dirname "$f")"
	eval "exec $fd>\"\$f\""
	if ! flock -n "$fd"; then
		log "waiting for another scripts/elasticmq.sh (lock $f)"
		flock -w 600 "$fd" || die "another scripts/elasticmq.sh has held $f for 10 minutes"
	fi
}

# ---------------------------------------------------------------- jars

# fetch: copy the server's runtime jars into $DIST/lib once. `mvn
# dependency:get` cannot be used: it asks for a test artifact that is not
# published. A POM with the one dependency and copy-dependencies can.
fetch() {
	[[ -f $DIST/.weft-fetched && -n $(compgen -G "$DIST/lib/elasticmq-server_2.13-$VERSION.jar") ]] && return 0
	command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch $ARTIFACT"
	lock 8 "$CACHE/.elasticmq-$VERSION.lock"
	[[ -f $DIST/.weft-fetched ]] && return 0
	local tmp=$DIST.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	cat >"$tmp/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.weft.test</groupId>
  <artifactId>elasticmq-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId>
      <artifactId>elasticmq-server_2.13</artifactId>
      <version>$VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
	log "fetching $ARTIFACT and its runtime dependencies with Maven"
	# -C: fail rather than warn when Maven Central's checksum does not match.
	(cd "$tmp" && mvn -q -B -C -Dstyle.color=never -Dmaven.repo.local="$M2" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=lib >&2) ||
		{ rm -rf "$tmp"; die "mvn dependency:copy-dependencies for $ARTIFACT failed"; }
	[[ -f $tmp/lib/elasticmq-server_2.13-$VERSION.jar ]] ||
		{ rm -rf "$tmp"; die "Maven reported success but elasticmq-server_2.13-$VERSION.jar is missing"; }
	date -u +%FT%TZ >"$tmp/.weft-fetched"
	rm -rf "$DIST"
	mv "$tmp" "$DIST"
	exec 8>&-
	log "$(find "$DIST/lib" -name '*.jar' | wc -l) jars in $DIST/lib"
}

# ---------------------------------------------------------------- commands

write_conf() {
	mkdir -p "$DIR"
	cat >"$CONF" <<EOF
include classpath("application.conf")

node-address {
  protocol = http
  host = $HOST
  port = $PORT
  context-path = ""
}

rest-sqs {
  enabled = true
  bind-port = $PORT
  bind-hostname = "$HOST"
  sqs-limits = strict
}

rest-stats {
  enabled = false
}
EOF
}

start() {
	port_open "$PORT" && die "port $HOST:$PORT is taken by something else (see WEFT_TEST_SQS_PORT)"
	command -v java >/dev/null || die "java (17+) is needed to run ElasticMQ"
	fetch
	write_conf
	[[ ! -f $OUT ]] || mv -f "$OUT" "$OUT.1"
	: >"$OUT"
	log "starting ElasticMQ $VERSION on $ENDPOINT (log in $OUT)"
	# setsid puts the server in a session of its own, so it outlives this
	# shell (with job control off, set at the top, the subshell is no
	# process group leader, so setsid does not fork and $! is java's pid).
	# The locks are not inherited.
	(
		cd "$DIR"
		# shellcheck disable=SC2086 # MEM holds several flags
		exec setsid java $MEM -XX:+PerfDisableSharedMem -Dconfig.file="$CONF" -cp "$DIST/lib/*" org.elasticmq.server.Main \
			</dev/null >>"$OUT" 2>&1 8>&- 9>&-
	) &
	echo $! >"$PIDFILE"
}

wait_ready() {
	local deadline=$((SECONDS + TIMEOUT))
	until answers; do
		if [[ -s $PIDFILE ]] && ! pid_alive; then
			show_log
			die "ElasticMQ exited during start-up; see $OUT"
		fi
		if ((SECONDS >= deadline)); then
			show_log
			die "ElasticMQ did not answer on $ENDPOINT within ${TIMEOUT}s; see $OUT"
		fi
		sleep 0.5
	done
}

cmd_up() {
	local t0=$SECONDS
	lock 9 "$DIR/.lock"
	if answers; then
		if pid_alive; then
			log "already running (pid $(head -n 1 "$PIDFILE"))"
		else
			log "something already answers on $ENDPOINT (not started from $STATE); reusing it"
		fi
	elif pid_alive; then
		log "starting (pid $(head -n 1 "$PIDFILE")), waiting"
	else
		start
	fi
	wait_ready
	log "ready in $((SECONDS - t0))s: $ENDPOINT"
}

cmd_down() {
	lock 9 "$DIR/.lock"
	if ! pid_alive; then
		if answers; then
			log "the server on $ENDPOINT was not started from $STATE; leaving it"
		else
			log "not running"
		fi
		rm -f "$PIDFILE"
		return 0
	fi
	local pid
	pid=$(head -n 1 "$PIDFILE")
	log "stopping (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + STOP_TIMEOUT))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			log "pid $pid still running after ${STOP_TIMEOUT}s; sending KILL"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 1
			break
		fi
		sleep 0.5
	done
	rm -f "$PIDFILE"
	log "stopped"
}

cmd_status() {
	local state=down rc=1
	if answers; then state=up rc=0; fi
	printf '%-9s %-16s %s (%s)\n' elasticmq "$HOST:$PORT" "$state" "$ENDPOINT"
	return $rc
}

cmd_env() {
	echo "export WEFT_TEST_SQS_ENDPOINT=$ENDPOINT"
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

#!/usr/bin/env bash
# A real Apache Pulsar standalone broker for weft's tests, without Docker:
# the release tarball from Maven Central, unpacked once into a cache folder,
# run as the current user on 127.0.0.1 only, with its data and logs under
# the project state directory. The functions worker runs inside it.
#
#   scripts/pulsar.sh up      fetch and unpack if needed, start, wait until the admin API and the functions worker answer
#   scripts/pulsar.sh down    stop the broker `up` started from this state directory (TERM, then KILL)
#   scripts/pulsar.sh status  print whether it answers (exit 1 if it does not)
#   scripts/pulsar.sh env     print the export lines:  eval "$(scripts/pulsar.sh env)"
#   scripts/pulsar.sh restart [--kill]
#                             stop the broker (TERM, then KILL; --kill: KILL at once, as a
#                             crash) and start it again on its data: topics, subscriptions
#                             and backlog come back (in 30 to 60 s on a small machine)
#
# Needs Java 17+ and Maven (mvn) on PATH; nothing runs as root. `up` wipes
# the broker's data (--wipe-data), so every test run starts from nothing,
# unless WEFT_TEST_PULSAR_KEEP_DATA=1; `restart` always keeps it.
# Listening on 127.0.0.1: the broker, the web/admin port (the embedded
# functions worker serves there too) and one bookie. The metadata store is
# RocksDB, so there is no ZooKeeper, and stream storage is off (-nss).
#
# Environment:
#   WEFT_TEST_SERVICES_DIR          state directory (default: <repo>/.services, as scripts/services.sh); data in <state>/pulsar
#   WEFT_CACHE_DIR                  where the distribution is unpacked (default: $HOME/.cache/weft)
#   WEFT_TEST_PULSAR_PORT           broker (binary protocol) port (default 56650)
#   WEFT_TEST_PULSAR_WEB_PORT       admin/web port, also the functions worker's (default 58080)
#   WEFT_TEST_PULSAR_BOOKIE_PORT    the local bookie's port (default 53181)
#   WEFT_TEST_PULSAR_TIMEOUT        seconds `up` waits for readiness (default 180)
#   WEFT_TEST_PULSAR_STOP_TIMEOUT   seconds `down` waits after SIGTERM before SIGKILL (default 30)
#   WEFT_TEST_PULSAR_KEEP_DATA      1: `up` starts on the data of the previous run
#   WEFT_TEST_PULSAR_MEM            JVM memory flags (default "-Xms256m -Xmx1g -XX:MaxDirectMemorySize=1g")
#   WEFT_MAVEN_REPO                 local Maven repository (default: $HOME/.m2/repository)
#   WEFT_TEST_PULSAR_LIVENESS_MS    how often the functions worker checks its instance processes (default 5000)
#   WEFT_TEST_PULSAR_CONF_EXTRA     file of key=value lines set over the broker settings below (scripts/secured.sh)
#   WEFT_TEST_PULSAR_AUTH_TOKEN_FILE  token the readiness checks send (a broker with authentication)
set -euo pipefail
set +m

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VERSION=4.0.8
ARTIFACT=org.apache.pulsar:pulsar-server-distribution:$VERSION:tar.gz:bin
HOST=127.0.0.1
PORT=${WEFT_TEST_PULSAR_PORT:-56650}
WEB_PORT=${WEFT_TEST_PULSAR_WEB_PORT:-58080}
BK_PORT=${WEFT_TEST_PULSAR_BOOKIE_PORT:-53181}
TIMEOUT=${WEFT_TEST_PULSAR_TIMEOUT:-180}
STOP_TIMEOUT=${WEFT_TEST_PULSAR_STOP_TIMEOUT:-30}
KEEP_DATA=${WEFT_TEST_PULSAR_KEEP_DATA:-}
MEM=${WEFT_TEST_PULSAR_MEM:--Xms256m -Xmx1g -XX:MaxDirectMemorySize=1g}
CACHE=${WEFT_CACHE_DIR:-$HOME/.cache/weft}
M2=${WEFT_MAVEN_REPO:-$HOME/.m2/repository}

log() { printf 'pulsar: %s\n' "$*" >&2; }
die() { printf 'pulsar: error: %s\n' "$*" >&2; exit 1; }

for p in "$PORT" "$WEB_PORT" "$BK_PORT" "$TIMEOUT" "$STOP_TIMEOUT"; do
	[[ $p =~ ^[0-9]+$ ]] || die "ports and timeouts must be numbers (got '$p')"
done
[[ $PORT != "$WEB_PORT" && $PORT != "$BK_PORT" && $WEB_PORT != "$BK_PORT" ]] ||
	die "the broker, web and bookie ports must differ ($PORT, $WEB_PORT, $BK_PORT)"

# ---------------------------------------------------------------- state dir

# The same choice as scripts/services.sh, so all test services keep their
# state side by side. (Pulsar runs as the current user, so the traversal
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

DIR=$STATE/pulsar
CONF_DIR=$DIR/conf
DATA=$DIR/data
LOGS=$DIR/logs
PIDFILE=$DIR/pulsar.pid
OUT=$LOGS/stdout.log
LOGFILE=$LOGS/pulsar-standalone.log

DIST=$CACHE/pulsar-$VERSION
TARBALL=$M2/org/apache/pulsar/pulsar-server-distribution/$VERSION/pulsar-server-distribution-$VERSION-bin.tar.gz

ADMIN_URL=http://$HOST:$WEB_PORT
SERVICE_URL=pulsar://$HOST:$PORT

# ---------------------------------------------------------------- helpers

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# http_status URL: the HTTP status code of a GET, or 000 when nothing answers.
http_status() {
	local auth=()
	[[ -z ${WEFT_TEST_PULSAR_AUTH_TOKEN_FILE:-} ]] || auth=("Authorization: Bearer $(cat "$WEFT_TEST_PULSAR_AUTH_TOKEN_FILE")")
	if command -v curl >/dev/null 2>&1; then
		# The header from stdin: a token never goes on a command line.
		printf '%s\n' "${auth[@]}" | curl -s -o /dev/null -m 5 -w '%{http_code}' -H @- "$1" 2>/dev/null || true
		return 0
	fi
	# No curl: a bare HTTP/1.0 request over bash's /dev/tcp.
	local rest=${1#http://} hostport path line
	hostport=${rest%%/*}
	path=/${rest#*/}
	line=$(
		exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || exit 0
		printf 'GET %s HTTP/1.0\r\nHost: %s\r\n%s\r\n' "$path" "$hostport" "${auth[@]/%/$'\r\n'}" >&3
		timeout 5 head -n 1 <&3
	) 2>/dev/null || true
	[[ $line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] && echo "${BASH_REMATCH[1]}" || echo 000
}

broker_ready() { [[ $(http_status "$ADMIN_URL/admin/v2/clusters") == 200 ]]; }
functions_ready() { [[ $(http_status "$ADMIN_URL/admin/v3/functions/public/default") == 200 ]]; }

pid_alive() { [[ -s $PIDFILE ]] && kill -0 "$(head -n 1 "$PIDFILE")" 2>/dev/null; }

show_log() {
	local f
	for f in "$LOGFILE" "$OUT"; do
		if [[ -s $f ]]; then
			log "last lines of $f:"
			tail -n 30 "$f" | sed 's/^/    /' >&2
		fi
	done
}

# lock FD FILE: hold FILE's lock on descriptor FD (8 or 9), one holder at a
# time, waiting up to 10 minutes. The broker is started with both closed.
lock() {
	local fd=$1 f=$2
	mkdir -p "$(dirname "$f")"
	eval "exec $fd>\"\$f\""
	if ! flock -n "$fd"; then
		log "waiting for another scripts/pulsar.sh (lock $f)"
		flock -w 600 "$fd" || die "another scripts/pulsar.sh has held $f for 10 minutes"
	fi
}

# ---------------------------------------------------------------- distribution

sha1_ok() {
	[[ -s $TARBALL && -s $TARBALL.sha1 ]] || return 1
	local want got
	want=$(head -c 40 "$TARBALL.sha1")
	got=$(sha1sum "$TARBALL" | cut -d' ' -f1)
	[[ $want == "$got" ]]
}

fetch() {
	sha1_ok && return 0
	command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch $ARTIFACT"
	local attempt
	for attempt in 1 2; do
		log "fetching $ARTIFACT with Maven"
		# -C: fail rather than warn when Maven Central's checksum does not match.
		mvn -q -B -C -Dstyle.color=never -Dmaven.repo.local="$M2" dependency:get \
			-Dartifact="$ARTIFACT" -Dtransitive=false >&2 ||
			die "mvn dependency:get $ARTIFACT failed"
		[[ -s $TARBALL ]] || die "Maven reported success but $TARBALL is missing"
		[[ -s $TARBALL.sha1 ]] || die "$TARBALL.sha1 is missing, cannot verify the download"
		sha1_ok && return 0
		log "checksum mismatch for $TARBALL (attempt $attempt); deleting it"
		rm -f "$TARBALL" "$TARBALL.sha1"
	done
	die "$TARBALL does not match its .sha1 after two downloads"
}

# unpack: extract the tarball once into $DIST. The marker holds the
# tarball's sha1, so a different tarball is unpacked afresh.
unpack() {
	local sum
	sum=$(head -c 40 "$TARBALL.sha1")
	[[ -x $DIST/bin/pulsar && $(cat "$DIST/.weft-unpacked" 2>/dev/null) == "$sum" ]] && return 0
	lock 8 "$CACHE/.pulsar-$VERSION.lock"
	[[ -x $DIST/bin/pulsar && $(cat "$DIST/.weft-unpacked" 2>/dev/null) == "$sum" ]] && return 0
	log "unpacking into $DIST"
	local tmp=$DIST.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	tar -xzf "$TARBALL" -C "$tmp" --strip-components=1 || { rm -rf "$tmp"; die "unpacking $TARBALL failed"; }
	[[ -x $tmp/bin/pulsar && -f $tmp/instances/java-instance.jar ]] || { rm -rf "$tmp"; die "$TARBALL has no bin/pulsar or instances/java-instance.jar"; }
	echo "$sum" >"$tmp/.weft-unpacked"
	rm -rf "$DIST"
	mv "$tmp" "$DIST"
	exec 8>&-
}

# ---------------------------------------------------------------- configuration

# set_conf FILE KEY VALUE: replace KEY's line, or append it. Replacing matters:
# the file is also read as the bookie's configuration, where a repeated key
# becomes a list and the first value wins.
set_conf() {
	local f=$1 k=$2 v=$3
	if grep -q "^$k=" "$f"; then
		local esc=${v//\\/\\\\}
		esc=${esc//&/\\&}
		esc=${esc//|/\\|}
		sed -i "s|^$k=.*|$k=$esc|" "$f"
	else
		[[ -z $(tail -c 1 "$f") ]] || echo >>"$f"
		printf '%s=%s\n' "$k" "$v" >>"$f"
	fi
	[[ $(grep -c "^$k=" "$f") == 1 ]] || die "setting $k in $f failed"
}

# set_yml FILE REGEX LINE: replace the one line matching REGEX.
set_yml() {
	local f=$1 re=$2 line=$3
	[[ $(grep -cE "$re" "$f") == 1 ]] || die "$f: expected one line matching '$re'"
	local esc=${line//\\/\\\\}
	esc=${esc//&/\\&}
	esc=${esc//|/\\|}
	sed -i -E "s|$re.*|$esc|" "$f"
}

# loopback_interface: the name of the loopback interface (lo on Linux), so
# the bookie binds to it rather than to every address.
loopback_interface() {
	local d
	for d in /sys/class/net/*; do
		[[ -e $d/flags ]] || continue
		(($(cat "$d/flags") & 0x8)) && { basename "$d"; return 0; }
	done
	echo lo
}

write_conf() {
	mkdir -p "$CONF_DIR" "$DATA" "$LOGS/functions" "$DATA/functions/connectors" "$DATA/functions/functions"
	local c=$CONF_DIR/standalone.conf w=$CONF_DIR/functions_worker.yml
	cp "$DIST/conf/standalone.conf" "$c"
	local kv
	for kv in \
		"clusterName=standalone" \
		"bindAddress=$HOST" \
		"advertisedAddress=$HOST" \
		"brokerServicePort=$PORT" \
		"webServicePort=$WEB_PORT" \
		"metadataStoreUrl=" \
		"configurationMetadataStoreUrl=" \
		"bookiePort=$BK_PORT" \
		"managedLedgerDefaultEnsembleSize=1" \
		"managedLedgerDefaultWriteQuorum=1" \
		"managedLedgerDefaultAckQuorum=1" \
		"ledgerStorageClass=org.apache.bookkeeper.bookie.storage.ldb.DbLedgerStorage" \
		"dbStorage_writeCacheMaxSizeMb=32" \
		"dbStorage_readAheadCacheMaxSizeMb=32" \
		"dbStorage_rocksDB_blockCacheSize=16777216" \
		"managedLedgerCacheSizeMB=64" \
		"journalSyncData=false" \
		"journalFlushWhenQueueEmpty=true" \
		"managedLedgerNewEntriesCheckDelayInMillis=0" \
		"allowLoopback=true" \
		"diskUsageThreshold=0.99" \
		"diskUsageWarnThreshold=0.99" \
		"loadManagerClassName=org.apache.pulsar.broker.loadbalance.NoopLoadManager" \
		"loadBalancerEnabled=false" \
		"allowAutoTopicCreation=true" \
		"allowAutoTopicCreationType=non-partitioned" \
		"brokerDeleteInactiveTopicsEnabled=false" \
		"transactionCoordinatorEnabled=false" \
		"authenticationEnabled=false" \
		"delayedDeliveryEnabled=true" \
		"delayedDeliveryTickTimeMillis=10" \
		"isDelayedDeliveryDeliverAtTimeStrict=true" \
		"acknowledgmentAtBatchIndexLevelEnabled=true" \
		"forceDeleteNamespaceAllowed=true" \
		"forceDeleteTenantAllowed=true" \
		"brokerShutdownTimeoutMs=10000" \
		"statusFilePath=" \
		"STORAGE_PATH=$DATA/packages" \
		"allowEphemeralPorts=true" \
		"listeningInterface=$(loopback_interface)"; do
		set_conf "$c" "${kv%%=*}" "${kv#*=}"
	done
	if [[ -n ${WEFT_TEST_PULSAR_CONF_EXTRA:-} ]]; then
		while IFS= read -r kv; do
			[[ -z $kv || $kv == \#* ]] || set_conf "$c" "${kv%%=*}" "${kv#*=}"
		done <"$WEFT_TEST_PULSAR_CONF_EXTRA"
	fi

	cp "$DIST/conf/functions_worker.yml" "$w"
	# The embedded worker serves on the broker's web port (the standalone
	# overrides workerPort with it); the rest keeps every path out of the
	# cache folder. ProcessRuntimeFactory refuses to start without the
	# Java and Python instance locations, even for Go functions.
	set_yml "$w" '^workerHostname:' "workerHostname: $HOST"
	set_yml "$w" '^workerPort:' "workerPort: $WEB_PORT"
	set_yml "$w" '^pulsarServiceUrl:' "pulsarServiceUrl: $SERVICE_URL"
	set_yml "$w" '^pulsarWebServiceUrl:' "pulsarWebServiceUrl: $ADMIN_URL"
	set_yml "$w" '^downloadDirectory:' "downloadDirectory: $DATA/functions/download"
	set_yml "$w" '^connectorsDirectory:' "connectorsDirectory: $DATA/functions/connectors"
	set_yml "$w" '^functionsDirectory:' "functionsDirectory: $DATA/functions/functions"
	set_yml "$w" '^    logDirectory:' "    logDirectory: $LOGS/functions"
	set_yml "$w" '^    javaInstanceJarLocation:' "    javaInstanceJarLocation: $DIST/instances/java-instance.jar"
	set_yml "$w" '^    pythonInstanceLocation:' "    pythonInstanceLocation: $DIST/instances/python-instance/python_instance_main.py"
	set_yml "$w" '^    extraFunctionDependenciesDir:' "    extraFunctionDependenciesDir: $DIST/instances/deps"
	# A function instance process that died is restarted at the next
	# liveness check: every 5 s here (30 s by default), so the tests that
	# kill one wait seconds, not half a minute.
	set_yml "$w" '^instanceLivenessCheckFreqMs:' "instanceLivenessCheckFreqMs: ${WEFT_TEST_PULSAR_LIVENESS_MS:-5000}"
}

# ---------------------------------------------------------------- commands

# start [keep]: start the broker; with keep, on the data already there.
start() {
	local p wipe=--wipe-data
	for p in "$PORT" "$WEB_PORT" "$BK_PORT"; do
		port_open "$p" && die "port $HOST:$p is taken by something else (see WEFT_TEST_PULSAR_PORT, _WEB_PORT, _BOOKIE_PORT)"
	done
	fetch
	unpack
	write_conf
	if [[ ${1:-} == keep && -d $DATA/metadata ]]; then
		wipe=
		log "keeping the data in $DATA"
	fi
	# Keep the previous run's logs only.
	[[ ! -f $LOGFILE ]] || mv -f "$LOGFILE" "$LOGFILE.1"
	rm -f "$LOGS"/pulsar_gc_*.log*
	: >"$OUT"
	log "starting Pulsar $VERSION standalone on $SERVICE_URL, admin $ADMIN_URL (logs in $LOGS)"
	# bin/pulsar execs java, so $! is the broker's pid. setsid puts it in a
	# session of its own (it outlives this shell and its job control; with
	# job control off, set at the top, the subshell is no process group
	# leader, so setsid does not fork). The locks are not inherited.
	# bin/pulsar changes into the distribution directory: every path it is
	# given is absolute, so nothing is written there.
	(
		cd "$DIR"
		unset PULSAR_STANDALONE_USE_ZOOKEEPER
		export PULSAR_MEM="$MEM" \
			PULSAR_GC="-XX:+UseG1GC -XX:+PerfDisableSharedMem" \
			PULSAR_LOG_DIR="$LOGS" \
			PULSAR_LOG_APPENDER=RollingFile \
			PULSAR_STANDALONE_CONF="$CONF_DIR/standalone.conf"
		exec setsid "$DIST/bin/pulsar" standalone \
			--config "$CONF_DIR/standalone.conf" \
			--functions-worker-conf "$CONF_DIR/functions_worker.yml" \
			$wipe --no-stream-storage \
			--advertised-address "$HOST" \
			--bookkeeper-port "$BK_PORT" \
			--bookkeeper-dir "$DATA/bookkeeper" \
			--metadata-dir "$DATA/metadata" \
			--zookeeper-dir "$DATA/zookeeper" \
			</dev/null >>"$OUT" 2>&1 8>&- 9>&-
	) &
	echo $! >"$PIDFILE"
}

# wait_ready: poll until the admin API and the functions worker answer, the
# process dies, or TIMEOUT passes.
wait_ready() {
	local deadline=$((SECONDS + TIMEOUT)) what
	for what in broker functions; do
		until "${what}_ready"; do
			if [[ -s $PIDFILE ]] && ! pid_alive; then
				show_log
				die "the broker exited during start-up; see $LOGS"
			fi
			if ((SECONDS >= deadline)); then
				show_log
				die "$what did not answer on $ADMIN_URL within ${TIMEOUT}s; see $LOGS"
			fi
			sleep 1
		done
	done
}

cmd_up() {
	local t0=$SECONDS
	lock 9 "$DIR/.lock"
	if broker_ready; then
		if pid_alive; then
			log "already running (pid $(head -n 1 "$PIDFILE"))"
		else
			log "something already answers on $ADMIN_URL (not started from $STATE); reusing it"
		fi
	elif pid_alive; then
		log "starting (pid $(head -n 1 "$PIDFILE")), waiting"
	elif [[ $KEEP_DATA == 1 ]]; then
		start keep
	else
		start
	fi
	wait_ready
	log "ready in $((SECONDS - t0))s: $SERVICE_URL, admin $ADMIN_URL"
}

cmd_restart() {
	local t0=$SECONDS
	lock 9 "$DIR/.lock"
	pid_alive || die "no broker started from $STATE is running"
	if [[ ${1:-} == --kill ]]; then
		local pid
		pid=$(head -n 1 "$PIDFILE")
		log "kill -9 $pid"
		kill -KILL "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
		rm -f "$PIDFILE"
	else
		stop
	fi
	start keep
	wait_ready
	log "restarted in $((SECONDS - t0))s: $SERVICE_URL, admin $ADMIN_URL"
}

cmd_down() {
	lock 9 "$DIR/.lock"
	stop
}

# stop: TERM the broker started from this state directory, KILL it after
# STOP_TIMEOUT. The caller holds the lock.
stop() {
	if ! pid_alive; then
		if broker_ready; then
			log "the broker on $ADMIN_URL was not started from $STATE; leaving it"
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
	local state=down fw=down rc=1
	if broker_ready; then
		state=up rc=0
		functions_ready && fw=up
	fi
	printf '%-9s %-16s %s (admin %s, functions worker %s)\n' pulsar "$HOST:$PORT" "$state" "$ADMIN_URL" "$fw"
	return $rc
}

cmd_env() {
	echo "export WEFT_TEST_PULSAR_URL=$SERVICE_URL"
	echo "export WEFT_TEST_PULSAR_ADMIN_URL=$ADMIN_URL"
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
restart)
	[[ -z ${2:-} || ${2:-} == --kill ]] || die "restart takes only --kill (got '$2')"
	cmd_restart "${2:-}"
	;;
status) cmd_status ;;
env) cmd_env ;;
-h | --help | help) usage ;;
*) [[ -z ${1:-} ]] || log "unknown command '$1'"; usage ;;
esac

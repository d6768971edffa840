#!/usr/bin/env bash
# The AWS Lambda Runtime Interface Emulator (RIE), to run a role's
# bootstrap as Lambda would, without Docker or an AWS account. It is built
# once from source with go install (its releases' prebuilt binaries are
# not fetched) into the cache folder.
#
#   scripts/rie.sh path                 build if needed, print the emulator's path
#   scripts/rie.sh env                  build if needed, print:  export WEFT_TEST_RIE=<path>
#   scripts/rie.sh run BOOTSTRAP [RIE FLAGS...]
#                                       run BOOTSTRAP under the emulator in the foreground, on loopback
#   scripts/rie.sh smoke                run a trivial echo bootstrap (shell and curl) under the
#                                       emulator, invoke it once and check the answer
#
# The emulator's flags, all of which `run` sets to loopback addresses:
#   --runtime-interface-emulator-address HOST:PORT
#         where it takes invocations (default 0.0.0.0:8080, every interface:
#         always give 127.0.0.1); invoke with
#         curl -d '<event JSON>' http://127.0.0.1:PORT/2015-03-31/functions/function/invocations
#   --runtime-api-address HOST:PORT
#         the Runtime API the bootstrap polls, handed to it as
#         AWS_LAMBDA_RUNTIME_API (default 127.0.0.1:9001; two emulators at
#         once need two)
#   --log-level debug|info|warn|error   (or LOG_LEVEL)
#   --enable-init-caching
# It has no --help (an unknown flag is an error, a bare run starts the
# server). It starts the bootstrap at the first invocation, runs one
# invocation at a time, and passes its environment on: AWS_LAMBDA_FUNCTION_TIMEOUT
# (seconds, default 300: the invocation's deadline), AWS_LAMBDA_FUNCTION_NAME,
# AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_REGION and credentials, WEFT_* settings.
#
# Environment:
#   WEFT_CACHE_DIR          where the emulator is built (default: $HOME/.cache/weft), in rie-<version>/bin
#   WEFT_TEST_RIE_PORT      invocation port of run and smoke (default 59000)
#   WEFT_TEST_RIE_API_PORT  Runtime API port of run and smoke (default 59001)
set -euo pipefail

MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
# The newest the Go module proxy serves (it serves no tagged release).
VERSION=v0.0.0-20261030222936-bef5c4ba774d
CACHE=${WEFT_CACHE_DIR:-$HOME/.cache/weft}
BIN=$CACHE/rie-$VERSION/bin
RIE=$BIN/aws-lambda-rie
HOST=127.0.0.1
PORT=${WEFT_TEST_RIE_PORT:-59000}
API_PORT=${WEFT_TEST_RIE_API_PORT:-59001}

log() { printf 'rie: %s\n' "$*" >&2; }
die() { printf 'rie: error: %s\n' "$*" >&2; exit 1; }

for p in "$PORT" "$API_PORT"; do
	[[ $p =~ ^[0-9]+$ ]] || die "ports must be numbers (got '$p')"
done
[[ $PORT != "$API_PORT" ]] || die "WEFT_TEST_RIE_PORT and WEFT_TEST_RIE_API_PORT must differ ($PORT)"

build() {
	[[ -x $RIE ]] && return
	command -v go >/dev/null || die "go is needed to build the emulator"
	log "building $MODULE/cmd/aws-lambda-rie@$VERSION into $BIN"
	mkdir -p "$BIN"
	# Outside any module, so the repository's go.mod has no say.
	(cd "$BIN" && GOBIN=$BIN CGO_ENABLED=0 GOFLAGS= go install "$MODULE/cmd/aws-lambda-rie@$VERSION") ||
		die "go install of the emulator failed"
}

# run_rie BOOTSTRAP [FLAGS...]: the emulator in the foreground on loopback.
run_rie() {
	local bootstrap=$1
	shift
	[[ -x $bootstrap ]] || die "$bootstrap is not an executable bootstrap"
	exec "$RIE" --runtime-interface-emulator-address "$HOST:$PORT" \
		--runtime-api-address "$HOST:$API_PORT" "$@" "$bootstrap"
}

smoke() {
	command -v curl >/dev/null || die "smoke needs curl"
	local dir pid out want='{"hello":"weft"}'
	dir=$(mktemp -d)
	# A bootstrap that answers every invocation with its event.
	cat >"$dir/bootstrap" <<-'EOF'
		#!/usr/bin/env bash
		set -euo pipefail
		api=http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation
		while :; do
			headers=$(mktemp)
			event=$(curl -sS -D "$headers" "$api/next")
			id=$(tr -d '\r' <"$headers" | awk -F': ' 'tolower($1) == "lambda-runtime-aws-request-id" {print $2}')
			rm -f "$headers"
			curl -sS -o /dev/null -X POST --data-binary "$event" "$api/$id/response"
		done
	EOF
	chmod +x "$dir/bootstrap"
	# Its own process group, so the bootstrap it starts goes with it.
	setsid "$RIE" --runtime-interface-emulator-address "$HOST:$PORT" \
		--runtime-api-address "$HOST:$API_PORT" --log-level error "$dir/bootstrap" >"$dir/rie.log" 2>&1 &
	pid=$!
	trap 'kill -TERM -- -'"$pid"' 2>/dev/null || true; wait '"$pid"' 2>/dev/null || true; rm -rf '"$dir" EXIT
	out=
	for _ in $(seq 1 50); do
		if out=$(curl -sS --max-time 20 -d "$want" "http://$HOST:$PORT/2015-03-31/functions/function/invocations" 2>/dev/null); then
			break
		fi
		kill -0 "$pid" 2>/dev/null || { cat "$dir/rie.log" >&2; die "the emulator exited"; }
		sleep 0.2
	done
	[[ $out == "$want" ]] || { cat "$dir/rie.log" >&2; die "the echo bootstrap answered '$out', want '$want'"; }
	log "ok: $RIE on $HOST:$PORT (Runtime API $HOST:$API_PORT) ran the echo bootstrap"
}

case ${1:-} in
path) build; printf '%s\n' "$RIE" ;;
env) build; printf 'export WEFT_TEST_RIE=%q\n' "$RIE" ;;
run) [[ $# -ge 2 ]] || die "usage: scripts/rie.sh run BOOTSTRAP [RIE FLAGS...]"; build; shift; run_rie "$@" ;;
smoke) build; smoke ;;
*) die "usage: scripts/rie.sh path|env|run BOOTSTRAP [FLAGS...]|smoke" ;;
esac

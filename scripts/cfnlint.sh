#!/usr/bin/env bash
# cfn-lint, AWS's CloudFormation linter, on weft's SAM template. It is
# installed once from PyPI into a virtualenv in the cache folder, pinned
# with the SAM translator it runs first, so every machine gets the same
# verdict; `make lint-template` (and so `make test-all`) runs it.
#
#   scripts/cfnlint.sh [cfn-lint arguments]   install if needed, lint template.yaml
#   scripts/cfnlint.sh path                   install if needed, print the cfn-lint executable's path
#
# The arguments go to cfn-lint; template.yaml (at the repository root) is
# added unless one of them names an existing file, e.g.
# `scripts/cfnlint.sh --format parseable` or `scripts/cfnlint.sh other.yaml`.
# The exit status is cfn-lint's: 0 when clean, otherwise bit flags (2 an
# error, 4 a warning, 8 an informational finding), so a warning fails too.
#
# cfn-lint 1.51 transforms the template with the SAM translator, applying
# the language extensions' Fn::ForEach on the parameters' defaults, and
# checks the CloudFormation that results (later releases check the SAM
# resources against schemas of their own instead).
#
# Needs python3 with its venv module. Environment:
#   WEFT_CACHE_DIR   where the virtualenv lives (default: $HOME/.cache/weft), in cfn-lint-<version>/
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VERSION=1.51.0
SAM_TRANSLATOR_VERSION=1.115.0
CACHE=${WEFT_CACHE_DIR:-$HOME/.cache/weft}
VENV=$CACHE/cfn-lint-$VERSION
# Written once pip has finished: a half-made virtualenv (an interrupted
# install) is made again.
MARKER=$VENV/.weft-installed

log() { printf 'cfnlint: %s\n' "$*" >&2; }
die() { printf 'cfnlint: error: %s\n' "$*" >&2; exit 1; }

install() {
	[[ -f $MARKER && -x $VENV/bin/cfn-lint ]] && return
	command -v python3 >/dev/null || die "python3 is needed to install cfn-lint"
	log "installing cfn-lint $VERSION into $VENV"
	rm -rf "$VENV"
	mkdir -p "$CACHE"
	python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
	"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
		"cfn-lint==$VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION" ||
		die "pip could not install cfn-lint $VERSION"
	touch "$MARKER"
}

install
if [[ ${1:-} == path ]]; then
	printf '%s\n' "$VENV/bin/cfn-lint"
	exit 0
fi

cd "$REPO"
named=false
for a in "$@"; do
	[[ -f $a ]] && named=true
done
$named || set -- "$@" template.yaml
exec "$VENV/bin/cfn-lint" "$@"

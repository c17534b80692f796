#!/usr/bin/env bash
# Installs the third-party JSON-RPC clients the `ddm serve` tests drive (tests/rpc/), into
# project-local directories, so a fresh machine (CI) gets them from the project's own files:
#
#   DIR/venv/             python3 -m venv + pip: aria2p (its CLI `aria2p` and Python API)
#   DIR/node_modules/     npm: aria2 (aria2.js) 4.1.x (5.x needs Node 22)
#   aria2c                Debian's aria2, only when aria2c is missing and apt-get is usable
#                         (the reference server the same client scripts are checked against)
#
# DIR is $DDM_RPC_CLIENTS_DIR, else target/rpc-clients in the repository. Idempotent: a stamp
# file (DIR/.stamp, the hash of this script and of tests/setup-common.sh, the frame it shares
# with tests/page/setup.sh) makes a second run a few milliseconds long; edit a version below
# and the next run installs again. Concurrent runs take turns (flock). Prints what it
# installs; exits non-zero, saying what is missing and how to get it, when something cannot
# be installed.
#
#   tests/rpc/setup.sh            install what is missing
#   tests/rpc/setup.sh --check    only report; exit 1 if anything is missing
set -euo pipefail

ARIA2P_SPEC='aria2p>=0.12,<0.13'
ARIA2JS_SPEC='aria2@~4.1.2'

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${DDM_RPC_CLIENTS_DIR:-$root/target/rpc-clients}"
prefix=rpc-clients
# shellcheck source-path=SCRIPTDIR source=../setup-common.sh
source "$root/tests/setup-common.sh" "$@"

ready() {
  [[ -x "$dir/venv/bin/aria2p" ]] && "$dir/venv/bin/python" -c '' 2>/dev/null &&
    [[ -f "$dir/node_modules/aria2/package.json" ]] &&
    command -v aria2c >/dev/null 2>&1 && command -v node >/dev/null 2>&1 &&
    stamped
}

if ready; then
  say "ready in $dir (aria2p, aria2.js, $(command -v aria2c))"
  exit 0
fi
if $check_only; then
  say "not ready in $dir: run tests/rpc/setup.sh"
  exit 1
fi

# aria2c: the reference server.
if ! command -v aria2c >/dev/null 2>&1; then
  apt_ok || die "aria2c is missing and apt-get is not usable here: install aria2 (e.g. 'apt-get install aria2'), or set DDM_SKIP_RPC_CLIENTS=1 to skip these tests"
  apt_install aria2
  command -v aria2c >/dev/null 2>&1 || die "apt-get installed aria2 but aria2c is still not on PATH"
fi
say "aria2c: $(aria2c --version | head -n1)"

# Python venv + aria2p.
command -v python3 >/dev/null 2>&1 || {
  apt_ok || die "python3 is missing: install python3 and python3-venv"
  apt_install python3 python3-venv
}
# A venv whose python no longer runs (the interpreter it was made from is gone) is made anew.
if ! "$dir/venv/bin/python" -c '' 2>/dev/null; then
  rm -rf "$dir/venv"
  say "creating the venv $dir/venv with $(python3 --version)"
  if ! python3 -m venv "$dir/venv" 2>/dev/null; then
    rm -rf "$dir/venv"
    apt_ok || die "python3 cannot create a venv: install python3-venv"
    apt_install python3-venv
    python3 -m venv "$dir/venv"
  fi
fi
say "installing $ARIA2P_SPEC into $dir/venv"
"$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$ARIA2P_SPEC" ||
  die "pip could not install $ARIA2P_SPEC (is PyPI reachable?)"
say "aria2p: $("$dir/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("aria2p"))')"

# Node + aria2.js.
node_and_npm
npm_install "$ARIA2JS_SPEC"
say "aria2.js: $(node -p "require('$dir/node_modules/aria2/package.json').version")"

finish

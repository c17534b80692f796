# shellcheck shell=bash
# The frame the test-tool installers share, sourced (never run) by tests/rpc/setup.sh (the
# JSON-RPC clients) and tests/page/setup.sh (the page's browser). Each script keeps its own
# list of what it installs, its directory and its messages; this file is what is the same in
# both. .ci/run and the tests run those scripts, never this file.
#
# The script sets, then sources this file with its own arguments:
#
#   prefix=rpc-clients                                   its messages' prefix
#   dir="${DDM_RPC_CLIENTS_DIR:-$root/target/rpc-clients}"  where it installs
#   source "$root/tests/setup-common.sh" "$@"
#
# Sourcing it:
#   check_only    true with --check (only report, install nothing), else false
#   DIR/.lock     made and held (flock) until the script exits: concurrent runs take turns
#   stamp_want    the hash of the script and of this file: editing either installs again
#
# and it provides:
#   say MSG, die MSG      "PREFIX: MSG" on stdout; "PREFIX: error: MSG" on stderr, exit 1
#   stamped               DIR/.stamp holds stamp_want (part of the script's own `ready`)
#   apt_ok                apt-get is usable: as root, or through sudo without a password
#   apt_install PKG...    apt-get install (apt-get update once first), saying what
#   node_and_npm          node and npm on the PATH, from apt-get when they are missing
#   npm_install SPEC      npm install SPEC into DIR/node_modules, or die saying so
#   finish                writes the stamp, runs the script's `ready`, says it is ready

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  echo "tests/setup-common.sh is sourced by tests/rpc/setup.sh and tests/page/setup.sh: run one of those" >&2
  exit 2
fi
: "${prefix:?set prefix (the prefix of its messages) before sourcing tests/setup-common.sh}"
: "${dir:?set dir (the install directory) before sourcing tests/setup-common.sh}"

check_only=false
# shellcheck disable=SC2034 # read by the sourcing script
if [[ "${1:-}" == "--check" ]]; then check_only=true; fi

say() { echo "$prefix: $*"; }
die() {
  echo "$prefix: error: $*" >&2
  exit 1
}

mkdir -p "$dir"
# One install at a time: the test binary runs tests on several threads and CI may call a
# script beside a test run.
exec 9>"$dir/.lock"
flock 9

stamp_want="$(cat "$0" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"

stamped() {
  [[ "$(cat "$dir/.stamp" 2>/dev/null)" == "$stamp_want" ]]
}

# apt-get as root, or through sudo without a password; nothing else.
apt_ok() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [[ "$(id -u)" == 0 ]]; then return 0; fi
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null
}
apt_updated=false
apt_install() {
  local as=()
  [[ "$(id -u)" == 0 ]] || as=(sudo -n)
  if ! $apt_updated; then
    "${as[@]}" apt-get update -qq
    apt_updated=true
  fi
  say "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive "${as[@]}" apt-get install -y -qq "$@" >/dev/null
}

node_and_npm() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_ok || die "node and npm are missing: install Node.js 20 with npm"
    apt_install nodejs npm
  fi
}

# The caller's environment reaches npm (e.g. PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_install …).
npm_install() {
  local spec="$1"
  say "installing $spec into $dir/node_modules (node $(node --version))"
  npm install --prefix "$dir" --no-audit --no-fund --silent "$spec" ||
    die "npm could not install $spec (is the npm registry reachable?)"
}

finish() {
  echo "$stamp_want" >"$dir/.stamp"
  ready || die "installed, but the check still fails: see the messages above"
  say "ready in $dir"
}

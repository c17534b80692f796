#!/usr/bin/env bash
# Installs what the browser tests of ddm's page need (tests/page/), from the project's own
# files, so a fresh machine (CI) gets them:
#
#   chromium, chromium-driver   Debian's packages (apt-get), only when /usr/bin/chromium is
#                               missing; never a browser download of Playwright's own
#   DIR/node_modules/           npm: playwright-core, driving that Chromium
#
# DIR is $DDM_PAGE_TOOLS_DIR, else target/page-tools in the repository. Idempotent: a stamp
# (DIR/.stamp, this script's hash) makes a second run a few milliseconds long. Concurrent
# runs take turns (flock). Exits non-zero saying what is missing when something cannot be
# installed.
#
#   tests/page/setup.sh            install what is missing
#   tests/page/setup.sh --check    only report; exit 1 if anything is missing
set -euo pipefail

PLAYWRIGHT_SPEC='playwright-core@~1.65.2'

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${DDM_PAGE_TOOLS_DIR:-$root/target/page-tools}"
check_only=false
[[ "${1:-}" == "--check" ]] && check_only=true

say() { echo "page-tools: $*"; }
die() {
  echo "page-tools: error: $*" >&2
  exit 1
}

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9

stamp_want="$(sha256sum "$0" | cut -d' ' -f1)"
chromium_bin() { command -v chromium 2>/dev/null || true; }

ready() {
  [[ -n "$(chromium_bin)" ]] && command -v node >/dev/null 2>&1 &&
    [[ -f "$dir/node_modules/playwright-core/package.json" ]] &&
    [[ "$(cat "$dir/.stamp" 2>/dev/null)" == "$stamp_want" ]]
}

if ready; then
  say "ready in $dir ($(chromium_bin), playwright-core)"
  exit 0
fi
if $check_only; then
  say "not ready in $dir: run tests/page/setup.sh"
  exit 1
fi

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

if [[ -z "$(chromium_bin)" ]]; then
  apt_ok || die "chromium is missing and apt-get is not usable here: install Debian's chromium and chromium-driver, or set DDM_SKIP_PAGE_TESTS=1 to skip these tests"
  apt_install chromium chromium-driver fonts-dejavu-core
  [[ -n "$(chromium_bin)" ]] || die "apt-get installed chromium but it is still not on PATH"
fi
say "chromium: $("$(chromium_bin)" --version 2>/dev/null | head -n1)"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_ok || die "node and npm are missing: install Node.js 20 with npm"
  apt_install nodejs npm
fi
say "installing $PLAYWRIGHT_SPEC into $dir/node_modules (node $(node --version))"
# playwright-core downloads no browser (that is the `playwright` package's install step).
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$dir" --no-audit --no-fund --silent "$PLAYWRIGHT_SPEC" ||
  die "npm could not install $PLAYWRIGHT_SPEC (is the npm registry reachable?)"
say "playwright-core: $(node -p "require('$dir/node_modules/playwright-core/package.json').version")"

echo "$stamp_want" >"$dir/.stamp"
ready || die "installed, but the check still fails: see the messages above"
say "ready in $dir"

#!/usr/bin/env bash
# Installs what the browser tests of ddm's page need (tests/page/), from the project's own
# files, so a fresh machine (CI) gets them:
#
#   chromium, chromium-driver   Debian's packages (apt-get), only when /usr/bin/chromium is
#                               missing; never a browser download of Playwright's own
#   DIR/node_modules/           npm: playwright-core, driving that Chromium
#
# DIR is $DDM_PAGE_TOOLS_DIR, else target/page-tools in the repository. Idempotent: a stamp
# (DIR/.stamp, the hash of this script and of tests/setup-common.sh, the frame it shares with
# tests/rpc/setup.sh) makes a second run a few milliseconds long. Concurrent runs take turns
# (flock). Exits non-zero saying what is missing when something cannot be installed.
#
#   tests/page/setup.sh            install what is missing
#   tests/page/setup.sh --check    only report; exit 1 if anything is missing
set -euo pipefail

PLAYWRIGHT_SPEC='playwright-core@~1.65.2'

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${DDM_PAGE_TOOLS_DIR:-$root/target/page-tools}"
prefix=page-tools
# shellcheck source-path=SCRIPTDIR source=../setup-common.sh
source "$root/tests/setup-common.sh" "$@"

chromium_bin() { command -v chromium 2>/dev/null || true; }

ready() {
  [[ -n "$(chromium_bin)" ]] && command -v node >/dev/null 2>&1 &&
    [[ -f "$dir/node_modules/playwright-core/package.json" ]] &&
    stamped
}

if ready; then
  say "ready in $dir ($(chromium_bin), playwright-core)"
  exit 0
fi
if $check_only; then
  say "not ready in $dir: run tests/page/setup.sh"
  exit 1
fi

if [[ -z "$(chromium_bin)" ]]; then
  apt_ok || die "chromium is missing and apt-get is not usable here: install Debian's chromium and chromium-driver, or set DDM_SKIP_PAGE_TESTS=1 to skip these tests"
  apt_install chromium chromium-driver fonts-dejavu-core
  [[ -n "$(chromium_bin)" ]] || die "apt-get installed chromium but it is still not on PATH"
fi
say "chromium: $("$(chromium_bin)" --version 2>/dev/null | head -n1)"

node_and_npm
# playwright-core downloads no browser (that is the `playwright` package's install step).
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_install "$PLAYWRIGHT_SPEC"
say "playwright-core: $(node -p "require('$dir/node_modules/playwright-core/package.json').version")"

finish

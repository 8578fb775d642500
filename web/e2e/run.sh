#!/usr/bin/env bash
# Runs the browser tests of chatd's web interface: installs playwright-core
# (no browser download) and Debian's Chromium when missing, then the tests.
# Screenshots go to $CHATD_ARTIFACTS (default web/e2e/artifacts).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  apt-get update
  apt-get install -y --no-install-recommends chromium
fi
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
exec node --test --test-concurrency=1 --test-reporter=spec tests/

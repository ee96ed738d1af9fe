#!/usr/bin/env sh
# Install the project-local tools the tests use (never global, never ~/.s):
#   .tools/node_modules/.bin/s   Serverless Devs, for `s preview` in tests/unit/test_syaml_preview.py
# Idempotent: does nothing when the pinned version is already there. Needs node >= 14 and npm.
set -eu

S_VERSION="3.1.10"   # keep in step with tests/unit/test_syaml_preview.py (S_VERSION)

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
s_bin="$tools/node_modules/.bin/s"
s_pkg="$tools/node_modules/@serverless-devs/s/package.json"

installed=""
if [ -x "$s_bin" ] && [ -f "$s_pkg" ]; then
    installed="$(node -p "require('$s_pkg').version" 2>/dev/null || true)"
fi

if [ "$installed" = "$S_VERSION" ]; then
    echo "install-tools: @serverless-devs/s $S_VERSION already in .tools"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "install-tools: npm not found; install Node.js (>= 14) to get Serverless Devs" >&2
    exit 1
fi

echo "install-tools: installing @serverless-devs/s@$S_VERSION into .tools"
mkdir -p "$tools"
npm install --prefix "$tools" --no-audit --no-fund --no-save "@serverless-devs/s@$S_VERSION"
# (not `s --version`: every s command writes logs under $HOME/.s)
test -x "$s_bin"

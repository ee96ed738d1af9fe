#!/usr/bin/env sh
# Headless Chromium (Debian's `chromium` package) for the browser test of the HTML timeline
# (tests/e2e/test_ops_timeline.py). Installed with apt-get when this runs as root (CI, containers);
# otherwise the test is skipped with its reason: install it with `sudo apt-get install chromium`.
# Never fatal: a machine without it still runs every other test.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    echo "install-browser: chromium already installed"
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no chromium and not root with apt-get: the browser test will be skipped"
    exit 0
fi
echo "install-browser: installing Debian's chromium (for the HTML timeline's browser test)"
if apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; then
    echo "install-browser: chromium $(chromium --version 2>/dev/null | awk '{print $2}') installed"
else
    echo "install-browser: apt-get could not install chromium: the browser test will be skipped"
fi
exit 0

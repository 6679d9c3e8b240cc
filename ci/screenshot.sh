#!/usr/bin/env bash
# Renders an omenbench HTML report to a PNG in headless Chromium, so a person
# can check how it looks without opening a browser.
#
#   ci/screenshot.sh [REPORT (index.html or its directory)] [OUT.png]
#
# Defaults: reports/latest/index.html -> <report dir>/screenshot.png.
# WIDTH (default 1280) and HEIGHT (default 2400) set the window, in pixels;
# only that much of the page is captured. Installs the Debian package
# `chromium` when no Chromium is on PATH.
set -euo pipefail

report="${1:-reports/latest}"
if [[ -d "$report" ]]; then
    report="$report/index.html"
fi
if [[ ! -f "$report" ]]; then
    echo "screenshot.sh: no report at $report (run \`omenbench report\` first)" >&2
    exit 1
fi
report="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
out="${2:-$(dirname "$report")/screenshot.png}"
case "$out" in
    /*) ;;
    *) out="$PWD/$out" ;;
esac

browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        browser="$b"
        break
    fi
done
if [[ -z "$browser" ]]; then
    echo "screenshot.sh: installing chromium (Debian package)" >&2
    sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
    browser=chromium
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" \
    --window-size="${WIDTH:-1280},${HEIGHT:-2400}" \
    --screenshot="$out" "file://$report" 2>/dev/null
if [[ ! -s "$out" ]]; then
    echo "screenshot.sh: $browser wrote no screenshot" >&2
    exit 1
fi
echo "screenshot.sh: $out"

#!/usr/bin/env bash
# Signs deliveries with the providers' own SDKs (PyPI, npm) and feeds them to
# the example receiver over 127.0.0.1 (scripts/sdk_check.py). Skipped, with
# the reason printed, when python3, node/npm or the package registries are
# not there; a signature the receiver gets wrong fails it.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
    echo "sdk-check: skipped: $*"
    exit 0
}

command -v python3 >/dev/null || skip "python3 is not installed"
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm are not installed"

work="${TMPDIR:-/tmp}/tower-webhook-sdk-check"
mkdir -p "$work"
if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv" >/dev/null 2>&1 || skip "python3 -m venv does not work here"
fi
"$work/venv/bin/pip" install -q --disable-pip-version-check \
    standardwebhooks==1.1.0 svix==2.9.1 slack_sdk==3.48.0 twilio==9.13.0 hubspot-api-client==12.0.0 \
    squareup==46.0.0.20260916 polar-sdk==1.0.2 >/dev/null 2>&1 \
    || skip "pip could not install the SDKs (no registry?)"
( cd "$work" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --silent --no-audit --no-fund @octokit/webhooks-methods@6.0.0 stripe@23.1.0 \
        @linear/sdk@98.0.0 >/dev/null 2>&1 ) \
    || skip "npm could not install the SDKs (no registry?)"
cp scripts/sdk_sign.mjs "$work/"

cargo build -q --example receiver
timeout 300 "$work/venv/bin/python" scripts/sdk_check.py "${CARGO_TARGET_DIR:-target}/debug/examples/receiver" "$work"

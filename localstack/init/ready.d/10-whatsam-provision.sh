#!/usr/bin/env bash
# LocalStack runs this once it is ready: it creates the Whatsam tables, queues (with DLQs),
# buckets, KMS key and secrets by running `whatsam provision`, i.e. from whatsam.resources, the one
# definition `whatsam dev` and the tests provision from. Safe to run again.
#
# Inside the LocalStack container the project sources are mounted at /opt/whatsam-src (see
# docker-compose.yml) and installed into a venv kept in LocalStack's volume. WHATSAM_PYTHON
# names an interpreter that already has the project installed (the tests use that).
set -euo pipefail

export AWS_ENDPOINT_URL="${WHATSAM_AWS_ENDPOINT_URL:-http://localhost:4566}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export WHATSAM_PREFIX="${WHATSAM_PREFIX:-whatsam-dev}"

python="${WHATSAM_PYTHON:-}"
if [ -z "$python" ]; then
  src="${WHATSAM_SRC:-/opt/whatsam-src}"
  venv="${WHATSAM_VENV:-/var/lib/localstack/whatsam-venv}"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  # The mount is read-only and a build writes next to the sources: build from a copy. Installed
  # on every start, so the resources follow the checked-out code.
  build="$(mktemp -d)"
  trap 'rm -rf "$build"' EXIT
  cp -R "$src"/. "$build"/
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$build"
  python="$venv/bin/python"
fi

echo "whatsam: provisioning prefix ${WHATSAM_PREFIX} at ${AWS_ENDPOINT_URL}"
"$python" -m whatsam.cli provision

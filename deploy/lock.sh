#!/usr/bin/env sh
# Regenerates requirements.lock, the image's exact dependency set (Dockerfile), from
# pyproject.toml (dependencies and the `deploy` extra) and deploy/lock.in. One command:
#   deploy/lock.sh            (needs uv: pip install uv)
# Run it after any change to those files; tests/deploy/test_requirements_lock.py fails while the lock lags.
# --universal: one lock for every platform (amd64 and arm64 images), with markers;
# --generate-hashes: pip in the Dockerfile installs with --require-hashes.
set -eu
cd "$(dirname "$0")/.."
exec uv pip compile pyproject.toml deploy/lock.in --extra deploy \
  --universal --python-version 3.11 --generate-hashes --no-header --quiet \
  --output-file requirements.lock "$@"

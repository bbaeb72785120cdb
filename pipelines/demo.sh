#!/usr/bin/env bash
# `make demo`: the main job on the built-in provider simulators (see `unsub-recon demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
node bin/unsub-recon.js demo "$@"

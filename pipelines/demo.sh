#!/usr/bin/env bash
# `make demo`: what a new user runs first. For now (foundation issue) it validates the example
# config; later issues extend it to the whole job on the provider simulators.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/example.env
node bin/unsub-recon.js --config examples/unsub-recon.config.json config check

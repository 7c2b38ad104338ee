#!/usr/bin/env bash
# Streaming benchmark: a 1 GiB JSON answer through `cordon serve`, redacted and passed
# through, beside the upstream read directly; peak memory (VmHWM) and throughput.
#   crates/gateway/bench/stream.sh [ROUNDS] [BYTES]
set -euo pipefail
cd "$(dirname "$0")/../../.."
cargo build --release -p cordon --quiet
exec python3 crates/gateway/bench/stream.py --cordon "${CARGO_TARGET_DIR:-target}/release/cordon" \
  --rounds "${1:-3}" --size "${2:-1073741824}"

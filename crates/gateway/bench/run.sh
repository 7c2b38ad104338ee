#!/usr/bin/env bash
# Gateway benchmark: upstream direct, nginx proxy_pass, Cordon reverse proxy, and nginx
# auth_request to Cordon's forward-auth beside auth_request to an always-yes stub, with
# arms alternated round by round. Needs nginx, wrk and python3 (apt-get install nginx wrk).
#   crates/gateway/bench/run.sh [ROUNDS] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
cargo build --release -p cordon --quiet
exec python3 crates/gateway/bench/bench.py --cordon target/release/cordon \
  --rounds "${1:-3}" --seconds "${2:-10}" --connections "${3:-32}"

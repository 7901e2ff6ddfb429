#!/usr/bin/env bash
# Dependency hygiene, run by `make lint`:
#   1. no crate may be in the build in two versions unless it is in ALLOWED_DUPLICATES
#      below, each entry with the reason it cannot be avoided;
#   2. no crate known to be unmaintained (a RustSec "unmaintained" advisory) may be in
#      the build at all.
# It reads only the lock file through `cargo tree` (no network, no extra tool), so it
# runs the same on a laptop and in CI.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo="${CARGO:-cargo}"

# name -> why two versions are unavoidable. Remove an entry as soon as upstream aligns;
# the check then keeps the duplicate from coming back.
declare -A ALLOWED_DUPLICATES=(
  # tonic 0.14 uses base64 0.22 (as we do); hyper-util 0.1.21 moved to 0.23.
  [base64]="tonic uses 0.22, hyper-util 0.23"
  # rand 0.9 (ours, the emulator's) vs rand 0.10 pulled by proptest (dev-only).
  [rand]="proptest (dev-only) uses 0.10"
  [rand_core]="follows rand"
  [getrandom]="follows rand; tempfile also uses 0.4"
  # Build-time only (tonic-prost-build -> prost-build): its petgraph and prettyplease
  # lag the versions the rest of the tree uses. Nothing of it is in the binary.
  [hashbrown]="petgraph (build-time) uses 0.15"
  [prettyplease]="prost-build (build-time) uses both 0.2 and 0.3"
  # syn 2 (most proc macros) and syn 3 (async-trait); compile-time only.
  [syn]="proc macros are mid-migration from syn 2 to syn 3"
  # aws-lc-rs depends on untrusted 0.7; rustls-webpki on 0.9.
  [untrusted]="aws-lc-rs uses 0.7, rustls-webpki 0.9"
)

# Crates with a RustSec "unmaintained" advisory: never in this build.
declare -A UNMAINTAINED=(
  [rustls-pemfile]="RUSTSEC-2025-0134; use rustls-pki-types' PemObject"
  [paste]="RUSTSEC-2024-0436"
  [proc-macro-error]="RUSTSEC-2024-0370; use proc-macro-error2 or plain syn errors"
  [atty]="RUSTSEC-2024-0375; use std::io::IsTerminal"
  [instant]="RUSTSEC-2024-0384; use web-time or std"
  [derivative]="RUSTSEC-2024-0388; use derive_more or hand-written impls"
  [ansi_term]="RUSTSEC-2021-0139"
  [serde_cbor]="RUSTSEC-2021-0127; use ciborium"
  [yaml-rust]="RUSTSEC-2024-0320; use yaml-rust2"
)

# Every package (name version) of every workspace member: normal, build and dev edges.
packages="$("$cargo" tree --locked --workspace -e normal,build,dev --prefix none --format '{p}' |
  awk 'NF >= 2 {print $1, $2}' | sort -u)"

status=0

duplicates="$(awk '{count[$1]++; versions[$1] = versions[$1] " " $2}
  END {for (n in count) if (count[n] > 1) print n ":" versions[n]}' <<<"$packages" | sort)"
while IFS= read -r line; do
  [ -n "$line" ] || continue
  name="${line%%:*}"
  if [ -n "${ALLOWED_DUPLICATES[$name]:-}" ]; then
    echo "check-deps: duplicate ${line} (allowed: ${ALLOWED_DUPLICATES[$name]})"
  else
    echo "check-deps: ERROR: ${line} is in the build in several versions;" \
      "align the versions, or add it to ALLOWED_DUPLICATES in scripts/check-deps.sh" \
      "with the reason (see: cargo tree -i ${name})" >&2
    status=1
  fi
done <<<"$duplicates"

# An allow-list entry that no longer matches anything is stale: say so, so it is removed.
for name in "${!ALLOWED_DUPLICATES[@]}"; do
  if ! grep -q "^${name}:" <<<"$duplicates"; then
    echo "check-deps: ERROR: ${name} is allowed as a duplicate but is no longer one;" \
      "remove it from ALLOWED_DUPLICATES" >&2
    status=1
  fi
done

while read -r name version; do
  if [ -n "${UNMAINTAINED[$name]:-}" ]; then
    echo "check-deps: ERROR: ${name} ${version} is unmaintained (${UNMAINTAINED[$name]});" \
      "see: cargo tree -i ${name}" >&2
    status=1
  fi
done <<<"$packages"

if [ "$status" -eq 0 ]; then
  echo "check-deps: ok ($(wc -l <<<"$packages") packages)"
fi
exit "$status"

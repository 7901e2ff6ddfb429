#!/usr/bin/env bash
# `make test` (and `make testacc`): the README's test command and CI's.
#
#   scripts/test.sh              every test once; the acceptance suite once more on the
#                                extra Terraform, when there is one
#   scripts/test.sh acceptance   the acceptance suite only, on every Terraform found
#
# The Terraform versions the acceptance suite runs on:
#   pinned  $TERRAFORM, else .tools/bin/terraform (1.0.3, scripts/install-terraform.sh);
#   extra   $TERRAFORM_EXTRA, else the `terraform` on PATH, when its version differs from
#           the pinned one. TERRAFORM_EXTRA=none runs on the pinned one only.
# Tests that need a newer Terraform than the one running print `SKIPPED <test>: <why>`.
#
# The extra run comes first, so the log ends with cargo's summary of the full run; a
# failure of either run fails the script (after both ran).
#
# Environment: TERRAFORM, TERRAFORM_EXTRA, TEST_THREADS (default 4), CARGO.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo="${CARGO:-cargo}"
threads="${TEST_THREADS:-4}"
scope="${1:-all}"
case "$scope" in all | acceptance) ;; *)
  echo "usage: $0 [acceptance]" >&2
  exit 64
  ;;
esac

# Absolute path of a terraform named by path or by a name on PATH; empty if none.
resolve() {
  case "$1" in
    */*) if [ -x "$1" ]; then printf '%s\n' "$1"; fi ;;
    *) command -v "$1" 2>/dev/null || true ;;
  esac
}
# shellcheck source=scripts/lib/terraform.sh
. "$root/scripts/lib/terraform.sh"

pinned="$(resolve "${TERRAFORM:-$root/.tools/bin/terraform}")"
if [ -z "$pinned" ]; then
  echo "test: no terraform at ${TERRAFORM:-$root/.tools/bin/terraform}: run scripts/install-terraform.sh or set TERRAFORM" >&2
  exit 1
fi
pinned_version="$(terraform_version "$pinned")"
if [ -z "$pinned_version" ]; then
  echo "test: $pinned does not answer \`version\` like a terraform: run scripts/install-terraform.sh or set TERRAFORM" >&2
  exit 1
fi

extra=""
extra_version=""
case "${TERRAFORM_EXTRA:-}" in
  none) ;;
  "")
    extra="$(resolve terraform)"
    ;;
  *)
    extra="$(resolve "$TERRAFORM_EXTRA")"
    if [ -z "$extra" ]; then
      echo "test: TERRAFORM_EXTRA=$TERRAFORM_EXTRA is not an executable terraform" >&2
      exit 1
    fi
    ;;
esac
if [ -n "$extra" ]; then
  extra_version="$(terraform_version "$extra")"
  if [ -z "$extra_version" ]; then
    if [ -n "${TERRAFORM_EXTRA:-}" ]; then
      echo "test: TERRAFORM_EXTRA=$TERRAFORM_EXTRA does not answer \`version\` like a terraform" >&2
      exit 1
    fi
    echo "   (skipping $extra on PATH: it does not answer \`version\` like a terraform)"
    extra=""
  elif [ "$extra_version" = "$pinned_version" ]; then
    extra=""
  fi
fi

echo "== Terraform versions for the acceptance suite: $pinned_version ($pinned)${extra:+, $extra_version ($extra)}"
[ -n "$extra" ] || echo "   (no other Terraform version found: set TERRAFORM_EXTRA or put one on PATH to test a second version)"

extra_status=0
if [ -n "$extra" ]; then
  echo
  echo "== acceptance tests on Terraform $extra_version ($extra)"
  TERRAFORM="$extra" "$cargo" test --test acceptance --no-fail-fast -- --test-threads="$threads" || extra_status=$?
fi

echo
status=0
if [ "$scope" = acceptance ]; then
  echo "== acceptance tests on Terraform $pinned_version ($pinned)"
  TERRAFORM="$pinned" "$cargo" test --test acceptance --no-fail-fast -- --test-threads="$threads" || status=$?
else
  echo "== all tests; acceptance tests on Terraform $pinned_version ($pinned)"
  TERRAFORM="$pinned" "$cargo" test --workspace --no-fail-fast -- --test-threads="$threads" || status=$?
fi

if [ "$extra_status" -ne 0 ]; then
  echo "test: FAILED: the acceptance tests on Terraform $extra_version ($extra) failed (see above)" >&2
  exit "$extra_status"
fi
exit "$status"

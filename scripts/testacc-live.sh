#!/usr/bin/env bash
# `make testacc-live`: the acceptance tests vetted for live mode (LIVE_TESTS in
# tests/acceptance/live.rs) against a real Cloudflare account, the way
# terraform-plugin-testing's TF_ACC runs Go providers' tests. Every other test prints
# why it is skipped (fault injection, out-of-band edits, request-log assertions need
# the emulator).
#
#   CFACCESS_LIVE=1 CLOUDFLARE_API_TOKEN=… CLOUDFLARE_ACCOUNT_ID=… \
#     CFACCESS_LIVE_ZONE=example.net make testacc-live
#
# Safety: every object the run creates is named with a unique run prefix
# (cfacc-live-<time>-<random>-); the harness only edits apps it created itself (its
# prefixed copies of the seed apps), deletes each test's objects when the test ends
# (also on failure), and this script sweeps the whole run prefix at the end, whatever
# happened. Nothing without the prefix is ever written.
#
# Environment:
#   CFACCESS_LIVE=1          the explicit opt-in; without it the script refuses to run
#   CLOUDFLARE_API_TOKEN     token with Access: Apps and Policies Edit on the account
#   CLOUDFLARE_ACCOUNT_ID    the account
#   CLOUDFLARE_BASE_URL      API base (default https://api.cloudflare.com/client/v4)
#   CFACCESS_LIVE_ZONE       a zone of the account; replaces example.com in test domains
#                            (Cloudflare accepts self-hosted domains of its zones only)
#   TERRAFORM                terraform to use (default: the newest of PATH and .tools/bin)
#   TEST_THREADS             default 2 (a real account's rate limit is shared)
#   CFACCESS_LIVE_SELFTEST=1 test the mode itself: start a seeded cfaccess-emulator,
#                            point the run at it through CLOUDFLARE_BASE_URL, and check
#                            afterwards that only the emulator's own (foreign) seed is
#                            left, untouched, and that no write reached a foreign object
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo="${CARGO:-cargo}"
threads="${TEST_THREADS:-2}"
selftest="${CFACCESS_LIVE_SELFTEST:-0}"

work="$(mktemp -d "${TMPDIR:-/tmp}/cfaccess-live.XXXXXX")"
emulator_pid=""
# shellcheck source=scripts/lib/emulator.sh
. "$root/scripts/lib/emulator.sh"
cleanup_dir() {
  stop_emulator || true
  rm -rf "$work"
}
trap cleanup_dir EXIT

if [ "$selftest" = 1 ]; then
  echo "== live-mode self-test: a cfaccess-emulator stands in for the Cloudflare account"
  "$cargo" build -q -p cfaccess-emulator
  emulator="${CARGO_TARGET_DIR:-$root/target}/debug/cfaccess-emulator"
  token="live-selftest-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  # The demo seed plays the other teams' apps and policies the run must not touch.
  start_emulator "$emulator" "$token" "$work/emulator.log" ||
    { cat "$work/emulator.log" >&2; echo "testacc-live: the emulator did not start" >&2; exit 1; }
  export CFACCESS_LIVE=1
  export CLOUDFLARE_BASE_URL="$url/client/v4"
  export CLOUDFLARE_API_TOKEN="$token"
  export CLOUDFLARE_ACCOUNT_ID="023e105f4ecef8ad9ca31a8372d0c353"
  admin="$url/__emulator"
  foreign_before="$(curl -sS -H "Authorization: Bearer $token" "$CLOUDFLARE_BASE_URL/accounts/$CLOUDFLARE_ACCOUNT_ID/access/apps")"
fi

if [ "${CFACCESS_LIVE:-}" != 1 ]; then
  cat >&2 <<'MSG'
testacc-live: refusing to run without CFACCESS_LIVE=1.
This creates and deletes Access apps and policies (all named cfacc-live-…) in the
account CLOUDFLARE_ACCOUNT_ID names. Set CFACCESS_LIVE=1 to agree, or
CFACCESS_LIVE_SELFTEST=1 to try the mode against a local emulator.
MSG
  exit 2
fi
for v in CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID; do
  if [ -z "${!v:-}" ]; then
    echo "testacc-live: $v is not set" >&2
    exit 2
  fi
done

# The newest Terraform found, so the tests of current workflows run too.
# shellcheck source=scripts/lib/terraform.sh
. "$root/scripts/lib/terraform.sh"
TERRAFORM="${TERRAFORM:-$(newest_terraform "$root/.tools/bin/terraform")}"
export TERRAFORM

CFACCESS_LIVE_PREFIX="cfacc-live-$(date -u +%Y%m%d%H%M%S)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')-"
export CFACCESS_LIVE_PREFIX
echo "== live acceptance tests: account $CLOUDFLARE_ACCOUNT_ID at ${CLOUDFLARE_BASE_URL:-https://api.cloudflare.com/client/v4}"
echo "   Terraform $(terraform_version "$TERRAFORM") ($TERRAFORM), run prefix $CFACCESS_LIVE_PREFIX"

sweep() {
  echo
  echo "== sweep: deleting everything named $CFACCESS_LIVE_PREFIX*"
  "$cargo" test -q --test acceptance support::live::live_sweep -- --ignored --exact --nocapture
}

status=0
"$cargo" test --test acceptance --no-fail-fast -- --test-threads="$threads" || status=$?
sweep || status=$?

if [ "$selftest" = 1 ]; then
  echo
  echo "== self-test checks"
  foreign_after="$(curl -sS -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" "$CLOUDFLARE_BASE_URL/accounts/$CLOUDFLARE_ACCOUNT_ID/access/apps")"
  # The request log is admin API, which the emulator's --token guards.
  curl -sS -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" "$admin/requests" >"$work/requests.json"
  python3 - "$foreign_before" "$foreign_after" "$work/requests.json" "$CFACCESS_LIVE_PREFIX" <<'PY' || status=1
import json, sys
before = {a["id"]: a for a in json.loads(sys.argv[1])["result"]}
after = {a["id"]: a for a in json.loads(sys.argv[2])["result"]}
log = json.load(open(sys.argv[3]))
reqs = log.get("requests") if isinstance(log, dict) else None
if not isinstance(reqs, list) or not all(isinstance(r, dict) for r in reqs):
    # Without the log nothing below would prove that no write reached a foreign object.
    print("SELF-TEST FAILED: no request log from the emulator's admin API: %s" % json.dumps(log)[:300])
    sys.exit(1)
problems = []
if set(after) != set(before):
    problems.append("apps left besides the foreign seed: %s" % sorted(set(after) - set(before)))
for i, a in before.items():
    b = after.get(i)
    if b is None or b.get("policies") != a.get("policies") or b.get("name") != a.get("name"):
        problems.append("foreign app %s changed: %s -> %s" % (i, a.get("policies"), b and b.get("policies")))
foreign_policies = {p["id"] for a in before.values() for p in a.get("policies", [])}
writes = [r for r in reqs if r.get("method") in ("POST", "PUT", "PATCH", "DELETE")]
for r in writes:
    if any(x in r.get("path", "") for x in list(before) + list(foreign_policies)):
        problems.append("a write reached a foreign object: %s %s" % (r.get("method"), r.get("path")))
print("      %d writes by the run, none to the %d foreign apps or their %d policies" % (len(writes), len(before), len(foreign_policies)) if not problems else "")
for p in problems:
    print("SELF-TEST FAILED: " + p)
sys.exit(1 if problems else 0)
PY
fi
exit "$status"

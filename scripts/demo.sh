#!/usr/bin/env bash
# A guided tour of terraform-provider-cfaccess, offline, in under three minutes after the
# build: an MCP server wired to two downstream apps through a Linked App Token policy,
# applied against the cfaccess-emulator, proven through the emulator's Access edge,
# broken out of band, detected, repaired and destroyed.
#
#   scripts/demo.sh                 # self-hosted MCP server (Cf-Access-Token)
#   MODE=saas scripts/demo.sh       # Access for SaaS OIDC MCP server (Authorization: Bearer)
#
# Environment: MODE (self_hosted|saas), TERRAFORM (a terraform binary to use instead of
# the newest found: the `terraform` on PATH when it is newer than the pinned 1.0.3 in
# .tools/bin), CARGO_TARGET_DIR (where cargo builds), KEEP_WORKDIR=1 (keep the
# temporary Terraform working directory for inspection).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${MODE:-self_hosted}"
case "$mode" in
  self_hosted | saas) ;;
  *)
    echo "demo: MODE must be self_hosted or saas, got '$mode'" >&2
    exit 64
    ;;
esac

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
release_dir="$target_dir/release"
account_id="023e105f4ecef8ad9ca31a8372d0c353"
user_email="alice@example.com"
steps=8
step_no=0

step() {
  step_no=$((step_no + 1))
  printf '\n[%d/%d] %s\n' "$step_no" "$steps" "$*"
}
say() { printf '      %s\n' "$*"; }
fail() {
  printf '\nDEMO FAILED: %s\n' "$*" >&2
  exit 1
}

work=""
emulator_pid=""
# shellcheck source=scripts/lib/emulator.sh
. "$root/scripts/lib/emulator.sh"
cleanup() {
  local status=$?
  if stop_emulator; then
    echo "      emulator (pid $emulator_pid) stopped"
  fi
  if [ -n "$work" ] && [ -d "$work" ]; then
    if [ "${KEEP_WORKDIR:-0}" = "1" ] || [ "$status" -ne 0 ]; then
      echo "      working directory kept: $work"
    else
      rm -rf "$work"
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
step "Build the provider and the emulator (release)"
say "cargo build --release (the first build takes about 4 minutes on 2 cores)"
(cd "$root" && cargo build --release -p terraform-provider-cfaccess -p cfaccess-emulator)
[ -x "$release_dir/terraform-provider-cfaccess" ] || fail "no provider binary in $release_dir"
[ -x "$release_dir/cfaccess-emulator" ] || fail "no emulator binary in $release_dir"
# Terraform: $TERRAFORM when set; else the newest of the `terraform` on PATH (if it is
# 1.0 or newer) and the pinned 1.0.3 (installed into .tools/bin when missing).
# shellcheck source=scripts/lib/terraform.sh
. "$root/scripts/lib/terraform.sh"
if [ -n "${TERRAFORM:-}" ]; then
  terraform="$TERRAFORM"
  terraform_why="\$TERRAFORM"
else
  pinned="$root/.tools/bin/terraform"
  [ -x "$pinned" ] || "$root/scripts/install-terraform.sh"
  terraform="$(newest_terraform "$pinned")"
  if [ "$terraform" = "$pinned" ]; then
    terraform_why="the pinned version (no newer terraform on PATH)"
  else
    terraform_why="the newest found (PATH; the pinned one is $(terraform_version "$pinned"))"
  fi
fi
say "provider:  $release_dir/terraform-provider-cfaccess"
say "emulator:  $release_dir/cfaccess-emulator"
say "terraform: $("$terraform" version 2>/dev/null | head -n 1) at $terraform, $terraform_why"
started=$SECONDS

# ---------------------------------------------------------------------------------------
step "Start the emulator seeded with two self-hosted apps (\"Internal API\", \"Company wiki\")"
work="$(mktemp -d "${TMPDIR:-/tmp}/cfaccess-demo.XXXXXX")"
token="demo-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
if ! start_emulator "$release_dir/cfaccess-emulator" "$token" "$work/emulator.log"; then
  cat "$work/emulator.log" >&2
  fail "the emulator did not report its address"
fi
admin="$url/__emulator"
say "listening on $url (pid $emulator_pid, API token is random for this run)"

# Everything Terraform needs: the provider from this build (dev_overrides, so no
# `terraform init` on any version: 1.0.3 and current Terraform (1.11) use the override
# without it; 1.11's init would warn that it is unnecessary and, offline, fail querying
# the registry), the emulator as the Cloudflare API, and a private copy of the module.
cat >"$work/dev.tfrc" <<EOF
provider_installation {
  dev_overrides {
    "registry.terraform.io/cfaccess/cfaccess" = "$release_dir"
  }
  direct {}
}
EOF
mkdir -p "$work/tf"
cp "$root"/examples/mcp-linked-apps/*.tf "$work/tf/"
export TF_CLI_CONFIG_FILE="$work/dev.tfrc"
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1
export CLOUDFLARE_BASE_URL="$url/client/v4"
export CLOUDFLARE_API_TOKEN="$token"
export CLOUDFLARE_ACCOUNT_ID="$account_id"
export TF_VAR_mode="$mode"

# Runs terraform in the working copy; its full output goes to $work/last.log and is
# shown only when the command fails unexpectedly.
tf() {
  (cd "$work/tf" && "$terraform" "$@") >"$work/last.log" 2>&1
}
tf_must() {
  tf "$@" || {
    cat "$work/last.log" >&2
    fail "terraform $1 failed"
  }
}
# `terraform plan -detailed-exitcode` must exit $1 (0 no changes, 2 changes); $2 says
# what that exit stands for here.
expect_plan_exit() {
  local want="$1" what="$2" plan_status
  set +e
  tf plan -detailed-exitcode -input=false -no-color
  plan_status=$?
  set -e
  [ "$plan_status" -eq "$want" ] || {
    cat "$work/last.log" >&2
    fail "terraform plan -detailed-exitcode exited $plan_status, expected $want ($what)"
  }
}
# Prints the resource changes of the last plan/apply/destroy: the "changed outside of
# Terraform" note (with `drift`), the planned actions (only their headers with
# `headers`), and the summary line.
show_changes() {
  python3 - "$work/last.log" "${1:-}" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
flag = sys.argv[2]
mode = None
for line in lines:
    if line.startswith("Note: Objects have changed outside of Terraform"):
        mode = "drift"
        if flag == "drift":
            print("      Terraform detected changes made outside of Terraform:")
        continue
    if line.startswith("Terraform will perform the following actions"):
        mode = "actions"
        continue
    if re.match(r"^(Unless you have made equivalent changes|Terraform used the selected providers|Resource actions are)", line):
        mode = None
        continue
    if re.match(r"^(Plan:|Apply complete|Destroy complete|No changes)", line):
        print("      " + line)
        mode = None
        continue
    if mode == "drift" and flag != "drift":
        continue
    if mode in ("drift", "actions"):
        if line.startswith("  # "):
            print("      " + line)
        elif flag != "headers" and re.match(r"^\s+[~+-] ", line) and not re.match(r"^\s+[~+-] resource ", line):
            print("      " + line)
PY
}

# JSON helpers (python3 is everywhere the demo runs; jq is not).
json_get() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1:]: v=v[k]
print("" if v is None else json.dumps(v) if isinstance(v,(dict,list)) else v)' "$@"; }

# ---------------------------------------------------------------------------------------
step "Apply examples/mcp-linked-apps (mode = $mode; no terraform init: dev_overrides)"
tf_must apply -auto-approve -input=false -no-color
show_changes

# ---------------------------------------------------------------------------------------
step "Outputs: the MCP app uid and the headers the MCP server forwards"
tf_must output -no-color
sed 's/^/      /' "$work/last.log"
tf_must output -json
outputs="$(cat "$work/last.log")"
mcp_app_id="$(json_get mcp_app_id value <<<"$outputs")"
policy_id="$(json_get linked_policy_id value <<<"$outputs")"
downstream_header="$(json_get downstream_token_header value <<<"$outputs")"
downstream_prefix="$(json_get downstream_token_prefix value <<<"$outputs")"
api_id="$(json_get downstream_app_ids value "Internal API" <<<"$outputs")"
wiki_id="$(json_get downstream_app_ids value "Company wiki" <<<"$outputs")"

# GET through the emulated Access edge; prints "STATUS explanation".
edge() {
  local app_id="$1"
  shift
  local body status
  body="$(curl -sS -o - -w '\n%{http_code}' "$@" "$admin/edge/$app_id")" || fail "edge request failed"
  status="${body##*$'\n'}"
  body="${body%$'\n'*}"
  python3 -c '
import json, sys
status, body = sys.argv[1], json.loads(sys.argv[2])
if body.get("allowed"):
    print("%s admitted as %s by policy \"%s\" (%s)" % (status, body.get("email"), body.get("policy_name"), body.get("decision")))
else:
    print("%s refused: %s" % (status, body.get("reason")))' "$status" "$body"
}
expect_edge() {
  local want="$1" label="$2" app_id="$3"
  shift 3
  local got
  got="$(edge "$app_id" "$@")"
  say "$label: $got"
  [ "${got%% *}" = "$want" ] || fail "expected HTTP $want from the edge for $label"
}

# ---------------------------------------------------------------------------------------
step "Prove the wiring through the emulated Access edge"
login="$(curl -sS -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
  -d "{\"app_id\": \"$mcp_app_id\", \"email\": \"$user_email\"}" "$admin/edge/login")"
user_token="$(json_get token <<<"$login")" || fail "edge login failed: $login"
say "$user_email signed in to the MCP server app; the MCP server now holds her token"
say "it forwards it as \"$downstream_header: ${downstream_prefix}<token>\""
forward=(-H "$downstream_header: ${downstream_prefix}${user_token}")
expect_edge 200 "Internal API with the forwarded token" "$api_id" "${forward[@]}"
expect_edge 200 "Company wiki with the forwarded token" "$wiki_id" "${forward[@]}"
expect_edge 403 "Company wiki without a token      " "$wiki_id"

# ---------------------------------------------------------------------------------------
step "Drift: detach the linked policy from \"Company wiki\" out of band"
app_json="$(curl -sS -H "Authorization: Bearer $token" "$url/client/v4/accounts/$account_id/access/apps/$wiki_id")"
remaining="$(python3 -c '
import json, sys
app = json.loads(sys.argv[1])["result"]
keep = [{"id": p["id"], "precedence": p["precedence"]} for p in app.get("policies", []) if p["id"] != sys.argv[2]]
print(json.dumps(keep))' "$app_json" "$policy_id")"
curl -sS -f -o /dev/null -X PUT -H 'Content-Type: application/json' -H "Authorization: Bearer $token" -d "$remaining" \
  "$admin/accounts/$account_id/apps/$wiki_id/attachments" || fail "out-of-band detach failed"
say "someone removed the policy in the dashboard; the wiki keeps its other policies: $remaining"
expect_edge 403 "Company wiki with the forwarded token" "$wiki_id" "${forward[@]}"
expect_plan_exit 2 "changes"
say "terraform plan -detailed-exitcode: exit 2, the drift is reported:"
show_changes drift

# ---------------------------------------------------------------------------------------
step "Repair: terraform apply restores the attachment; the plan is empty again"
tf_must apply -auto-approve -input=false -no-color
show_changes
expect_plan_exit 0 "no changes after the repair"
say "terraform plan -detailed-exitcode: exit 0 (no changes)"
expect_edge 200 "Company wiki with the forwarded token" "$wiki_id" "${forward[@]}"

# ---------------------------------------------------------------------------------------
step "Destroy, then check the edge refuses the token everywhere"
tf_must destroy -auto-approve -input=false -no-color
show_changes headers
expect_edge 403 "Internal API with the forwarded token" "$api_id" "${forward[@]}"
expect_edge 403 "Company wiki with the forwarded token" "$wiki_id" "${forward[@]}"
left="$(curl -sS -H "Authorization: Bearer $token" "$admin/" | python3 -c '
import json, sys
acc = json.load(sys.stdin)["accounts"].get(sys.argv[1], {})
print("%d apps, %d policies" % (acc.get("apps", -1), acc.get("policies", -1)))' "$account_id")"
[ "$left" = "2 apps, 2 policies" ] || fail "after destroy the emulator holds $left, expected only the seed (2 apps, 2 policies)"
say "the emulator holds only the seed again: $left"

printf '\nDemo (%s) finished in %ds after the build.\n' "$mode" "$((SECONDS - started))"

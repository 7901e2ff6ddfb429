# Sourced by scripts/*.sh: which Terraform to run, chosen one way for all of them.

# "1.11.4" from "Terraform v1.11.4 ..."; empty when $1 does not answer like a terraform.
# Never fails: under `set -eo pipefail` a shim on PATH that exits non-zero (tfenv with
# no version selected) would otherwise end the calling script here, silently.
terraform_version() {
  { CHECKPOINT_DISABLE=1 "$1" version 2>/dev/null || true; } |
    sed -n '1s/^Terraform v\([0-9][0-9.]*\).*/\1/p'
}

# Prints the Terraform to run when $TERRAFORM is unset: the `terraform` on PATH when it
# answers a 1.x or later version newer than the pinned one ($1), else $1. A broken
# terraform on PATH just loses the comparison.
newest_terraform() {
  local pinned="$1" on_path v_path v_pinned
  on_path="$(command -v terraform 2>/dev/null || true)"
  if [ -n "$on_path" ]; then
    v_path="$(terraform_version "$on_path")"
    v_pinned="$(terraform_version "$pinned")"
    case "$v_path" in
      [1-9]*)
        if [ "$v_path" != "$v_pinned" ] &&
          [ "$(printf '%s\n%s\n' "$v_path" "$v_pinned" | sort -V | tail -n 1)" = "$v_path" ]; then
          printf '%s\n' "$on_path"
          return
        fi
        ;;
    esac
  fi
  printf '%s\n' "$pinned"
}

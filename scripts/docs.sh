#!/usr/bin/env bash
# Checks that the documentation matches the code and that every example is valid.
#
# Nothing is generated: docs/ is written by hand and the Rust schemas are the single
# source of every attribute description. This script runs
#   - `terraform fmt -check -recursive examples/`, and
#   - the docs-drift test (tests/docs_examples.rs): every attribute of the provider,
#     resource and data source schemas appears in its page under docs/ with its
#     description verbatim, and every example directory passes `terraform fmt -check`
#     and `terraform validate` against the provider built from this tree.
# To fix a failure, edit the page (or the schema description) until they agree.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${TERRAFORM:-}" ]; then
  terraform="$TERRAFORM"
else
  terraform="$root/.tools/bin/terraform"
  [ -x "$terraform" ] || "$root/scripts/install-terraform.sh"
  export TERRAFORM="$terraform"
fi

echo "docs: terraform fmt -check -recursive examples/"
if ! "$terraform" fmt -check -recursive -diff "$root/examples"; then
  echo "docs: the files above are not formatted; run: $terraform fmt -recursive examples/" >&2
  exit 1
fi

echo "docs: cargo test --test docs_examples"
cd "$root"
cargo test --quiet --test docs_examples -- --nocapture

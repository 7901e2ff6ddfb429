#!/usr/bin/env bash
# Builds the Terraform Registry release artifacts of terraform-provider-cfaccess into dist/:
#
#   terraform-provider-cfaccess_<v>_<os>_<arch>.zip   one per platform, holding terraform-provider-cfaccess_v<v>
#   terraform-provider-cfaccess_<v>_manifest.json     copy of terraform-registry-manifest.json (protocol 6.0)
#   terraform-provider-cfaccess_<v>_SHA256SUMS        sha256 of every zip and the manifest
#   terraform-provider-cfaccess_<v>_SHA256SUMS.sig    only when GPG_FINGERPRINT is set
#
# Usage: scripts/release.sh <x.y.z>   (make release VERSION=x.y.z)
#
# Platforms: the host, plus every other Rust target whose standard library is installed
# (`rustup target list --installed`) and that maps to a Terraform os_arch. Nothing is
# downloaded; a non-host target that fails to build (no cross linker) is skipped with a
# warning.
#
# Environment:
#   DIST_DIR                  output directory (default: <repo>/dist)
#   CARGO_TARGET_DIR          where cargo builds (default: <repo>/target)
#   CFACCESS_RELEASE_BINARY   package this already-built host binary instead of building
#                             (tests use it to exercise the packaging quickly)
#   SOURCE_DATE_EPOCH         timestamp stored in the zips (default: the HEAD commit time),
#                             so the same binary always gives the same zip
#   GPG_FINGERPRINT           sign SHA256SUMS with this key (detached, binary)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
name="terraform-provider-cfaccess"

usage() {
  echo "usage: $0 <version>   e.g. $0 0.1.0" >&2
  exit 64
}
[ $# -eq 1 ] || usage
version="${1#v}"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "release: '$1' is not a version like 1.2.3 or 1.2.3-rc.1" >&2
  exit 64
fi

dist="${DIST_DIR:-$root/dist}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
manifest_src="$root/terraform-registry-manifest.json"
[ -f "$manifest_src" ] || {
  echo "release: $manifest_src is missing" >&2
  exit 1
}

cargo_version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)"
if [ -n "$cargo_version" ] && [ "$cargo_version" != "$version" ]; then
  echo "release: note: Cargo.toml says $cargo_version; the binary's User-Agent will name that version, the artifacts name $version"
fi

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH="$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)"
fi
export SOURCE_DATE_EPOCH

# Rust target triple -> Terraform os_arch (empty when Terraform has no such platform).
os_arch() {
  case "$1" in
    x86_64-unknown-linux-gnu | x86_64-unknown-linux-musl) echo linux_amd64 ;;
    aarch64-unknown-linux-gnu | aarch64-unknown-linux-musl) echo linux_arm64 ;;
    i686-unknown-linux-gnu | i686-unknown-linux-musl) echo linux_386 ;;
    armv7-unknown-linux-gnueabihf | armv7-unknown-linux-musleabihf) echo linux_arm ;;
    x86_64-apple-darwin) echo darwin_amd64 ;;
    aarch64-apple-darwin) echo darwin_arm64 ;;
    x86_64-pc-windows-gnu | x86_64-pc-windows-msvc) echo windows_amd64 ;;
    i686-pc-windows-gnu | i686-pc-windows-msvc) echo windows_386 ;;
    aarch64-pc-windows-msvc) echo windows_arm64 ;;
    x86_64-unknown-freebsd) echo freebsd_amd64 ;;
    *) echo "" ;;
  esac
}

host="$(rustc -vV | sed -n 's/^host: //p')"
[ -n "$(os_arch "$host")" ] || {
  echo "release: the host target $host has no Terraform platform name" >&2
  exit 1
}
targets=("$host")
if [ -z "${CFACCESS_RELEASE_BINARY:-}" ] && command -v rustup >/dev/null 2>&1; then
  while read -r t; do
    [ -n "$t" ] && [ "$t" != "$host" ] && targets+=("$t")
  done < <(rustup target list --installed 2>/dev/null)
fi

# Writes a zip holding one executable, with fixed metadata so it is reproducible.
make_zip() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, sys, time, zipfile
src, dst, member = sys.argv[1:4]
stamp = time.gmtime(max(int(os.environ["SOURCE_DATE_EPOCH"]), 315532800))[:6]
info = zipfile.ZipInfo(member, date_time=stamp)
info.create_system = 3                      # unix, so the mode below is honoured
info.external_attr = (0o100755 & 0xFFFF) << 16
info.compress_type = zipfile.ZIP_DEFLATED
with open(src, "rb") as f:
    data = f.read()
with zipfile.ZipFile(dst + ".tmp", "w") as z:
    z.writestr(info, data, compresslevel=9)
os.replace(dst + ".tmp", dst)
PY
}

mkdir -p "$dist"
rm -f "$dist/${name}_${version}_"*
built_platforms=" "
zips=()
for target in "${targets[@]}"; do
  platform="$(os_arch "$target")"
  if [ -z "$platform" ]; then
    echo "release: skipping $target (no Terraform platform for it)"
    continue
  fi
  case "$built_platforms" in *" $platform "*)
    echo "release: skipping $target ($platform is already in this release)"
    continue
    ;;
  esac
  exe=""
  case "$platform" in windows_*) exe=".exe" ;; esac

  if [ "$target" = "$host" ] && [ -n "${CFACCESS_RELEASE_BINARY:-}" ]; then
    binary="$CFACCESS_RELEASE_BINARY"
    echo "release: $platform: packaging prebuilt $binary"
  elif [ "$target" = "$host" ]; then
    echo "release: $platform: cargo build --release ($target)"
    # Same package set as scripts/demo.sh, so both share one set of compiled
    # dependencies (cargo unifies features per build; another set would rebuild them).
    (cd "$root" && cargo build --release --quiet -p "$name" -p cfaccess-emulator)
    binary="$target_dir/release/$name"
  else
    echo "release: $platform: cargo build --release --target $target"
    if ! (cd "$root" && cargo build --release --quiet -p "$name" --bin "$name" --target "$target"); then
      echo "release: warning: $target did not build (missing cross linker?); $platform is not in this release" >&2
      continue
    fi
    binary="$target_dir/$target/release/$name$exe"
  fi
  [ -f "$binary" ] || {
    echo "release: $binary was not produced" >&2
    exit 1
  }

  zip="${name}_${version}_${platform}.zip"
  make_zip "$binary" "$dist/$zip" "${name}_v${version}${exe}"
  zips+=("$zip")
  built_platforms+="$platform "
done

manifest="${name}_${version}_manifest.json"
cp "$manifest_src" "$dist/$manifest"

sums="${name}_${version}_SHA256SUMS"
python3 - "$dist" "$sums" "${zips[@]}" "$manifest" <<'PY'
import hashlib, os, sys
dist, out, files = sys.argv[1], sys.argv[2], sorted(sys.argv[3:])
lines = []
for f in files:
    with open(os.path.join(dist, f), "rb") as fh:
        lines.append(f"{hashlib.sha256(fh.read()).hexdigest()}  {f}\n")
with open(os.path.join(dist, out), "w") as fh:
    fh.writelines(lines)
PY

if [ -n "${GPG_FINGERPRINT:-}" ]; then
  gpg --batch --yes --local-user "$GPG_FINGERPRINT" --detach-sign --output "$dist/$sums.sig" "$dist/$sums"
  echo "release: signed $sums with $GPG_FINGERPRINT"
else
  echo "release: $sums not signed (set GPG_FINGERPRINT to produce $sums.sig for the Registry)"
fi

echo "release: $version artifacts in $dist:"
(cd "$dist" && ls -l "${name}_${version}_"* | awk '{printf "  %10s  %s\n", $5, $9}')

#!/usr/bin/env bash
# debian-crates.sh PINS OUT
# debian-crates.sh --find SUITE NAME...   (prints pin rows for new crates: README, "Adding or bumping a crate")
#
# Builds a cargo directory source (OUT/registry) of the crates pinned in PINS (a TSV:
# crate, version, suite, deb, deb_sha256, crate_sha256), for machines that reach Debian's
# archive but not crates.io. Called by scripts/setup/setup.mjs; usable alone.
#
#  1. Each pinned .deb is taken from OUT/debs when its sha256 matches, else downloaded by exact
#     name and version from Debian's archive (DEBIAN_MIRROR, default deb.debian.org) through a
#     private apt state in OUT/apt: nothing is installed, the system's apt setup is untouched,
#     and apt checks the archive's signatures. Every .deb is then checked against deb_sha256.
#  2. Each crate folder is unpacked and Debian's patches (debian/patches/series) are reversed, so
#     the sources and Cargo.toml are upstream's again; debian/ is dropped.
#  3. .cargo-checksum.json gets crate_sha256, the crates.io checksum of the .crate, so a
#     Cargo.lock made against this source is the one crates.io gives (build --locked either way).
# Needs: apt-get, dpkg-deb, sha256sum, GNU patch, awk; debian-archive-keyring for downloads.
set -euo pipefail

die() { printf 'debian-crates: error: %s\n' "$*" >&2; exit 1; }
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# apt_state DIR SRC SUITE...: a private apt state in DIR for SUITEs (SRC=1 adds their source
# indexes), then `apt-get update`; sets APT to the options that make apt use only DIR.
apt_state() {
  local A=$1 src=$2 s; shift 2
  command -v apt-get >/dev/null || die "apt-get is needed to reach Debian's archive"
  [ -r "$KEYRING" ] || die "$KEYRING is missing (apt-get install debian-archive-keyring): it verifies the downloads"
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/etc"; : > "$A/status"
  for s in "$@"; do
    echo "deb [signed-by=$KEYRING] $MIRROR $s main"
    [ "$src" != 1 ] || echo "deb-src [signed-by=$KEYRING] $MIRROR $s main"
  done > "$A/etc/sources.list"
  # Every path apt reads or writes points into DIR; the .debs are amd64 ones whatever the host
  # (their crate sources are the same on every architecture, and the pins name them).
  APT=(-o "Dir::State=$A" -o "Dir::State::Lists=$A/lists" -o "Dir::State::status=$A/status"
       -o "Dir::Etc::SourceList=$A/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
       -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null"
       -o "Dir::Cache=$A/cache" -o "Acquire::Languages=none" -o "Acquire::Retries=3"
       -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64")
  # apt drops root to the _apt user for downloads, which cannot write into DIR.
  [ "$(id -u)" != 0 ] || APT+=(-o "APT::Sandbox::User=root")
  apt-get "${APT[@]}" -q update > "$A/update.log" 2>&1 \
    || { tail -5 "$A/update.log" >&2; die "apt-get update against $MIRROR failed (is Debian's archive reachable? DEBIAN_MIRROR picks another mirror)"; }
}

for t in dpkg-deb sha256sum patch awk; do
  command -v "$t" >/dev/null || die "missing tool: $t (Debian: apt-get install ${t/sha256sum/coreutils})"
done

if [ "${1:-}" = --find ]; then
  [ $# -ge 3 ] || die "usage: $0 --find SUITE NAME...  (NAME as in librust-NAME-dev, e.g. serde-json)"
  suite=$2; shift 2
  W=$(cd "$(dirname "$0")/../.." && pwd -P)/.cargo/debian-crates
  mkdir -p "$W"; TMP=$(mktemp -d "$W/.tmp.XXXXXX"); trap 'rm -rf "$TMP"' EXIT
  echo "debian-crates: reading $suite's indexes from $MIRROR" >&2
  apt_state "$W/apt-find" 1 "$suite"
  printf 'crate\tversion\tsuite\tdeb\tdeb_sha256\tcrate_sha256\n'
  for name in "$@"; do
    pkg=librust-$name-dev
    info=$(apt-cache "${APT[@]}" show --no-all-versions "$pkg" 2>/dev/null) || die "$pkg is not in $suite"
    field() { awk -v k="$1:" '$1 == k { print $2; exit }' <<< "$info"; }
    ver=$(field Version); file=$(field Filename); debsha=$(field SHA256)
    src=$(field Source); src=${src:-$pkg}
    up=${ver#*:}; up=${up%-*}
    ( cd "$TMP" && apt-get "${APT[@]}" -q download "$pkg=$ver" ) > "$TMP/dl.log" 2>&1 || { cat "$TMP/dl.log" >&2; die "cannot download $pkg=$ver"; }
    x=$TMP/x-$name; mkdir -p "$x"; dpkg-deb -x "$TMP/$(basename "$file")" "$x"
    toml=$(echo "$x"/usr/share/cargo/registry/*/Cargo.toml)
    crate=$(awk -F'"' '/^\[package\]/ { p = 1; next } /^\[/ { p = 0 } p && $1 ~ /^name *= *$/ { print $2; exit }' "$toml")
    cver=$(awk -F'"' '/^\[package\]/ { p = 1; next } /^\[/ { p = 0 } p && $1 ~ /^version *= *$/ { print $2; exit }' "$toml")
    # Debian's orig tarball of a debcargo package is the crate's .crate from crates.io.
    orig=$(apt-cache "${APT[@]}" showsrc --only-source "$src" 2>/dev/null | awk -v f="${src}_${up}.orig.tar." '
      /^Checksums-Sha256:/ { c = 1; next } c && /^ / { if (index($3, f) == 1) { print $1; exit } next } { c = 0 }')
    [ -n "$orig" ] || echo "debian-crates: warning: no orig tarball of $src $up in $suite's source index: take crate_sha256 from a Cargo.lock made against crates.io" >&2
    [ "${up//\~/-}" = "$cver" ] || echo "debian-crates: warning: $pkg $ver holds $crate $cver: Debian repacked it, its orig tarball is not the .crate" >&2
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$crate" "$cver" "$suite" "$(basename "$file")" "$debsha" "${orig:-?}"
  done
  exit 0
fi

[ $# -eq 2 ] || die "usage: $0 PINS OUT"
PINS=$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")
[ -r "$PINS" ] || die "no pin list at $1"
mkdir -p "$2"; OUT=$(cd "$2" && pwd -P)

# The pin rows without comments and the header: crate version suite deb deb_sha256 crate_sha256.
rows() { awk -F'\t' '!/^#/ && $1 != "crate" && NF' "$PINS"; }
n=$(rows | awk -F'\t' 'NF != 6 { print NR": "$0 }')
[ -z "$n" ] || die "$PINS: rows need 6 tab-separated fields; bad: $n"

mkdir -p "$OUT/debs"
TMP=$(mktemp -d "$OUT/.tmp.XXXXXX"); trap 'rm -rf "$TMP"' EXIT

# ------------------------------------------------------------------ 1. the .deb files
missing=()
while IFS=$'\t' read -r crate version suite deb debsha _; do
  if ! { [ -f "$OUT/debs/$deb" ] && echo "$debsha  $OUT/debs/$deb" | sha256sum -c --status; }; then
    missing+=("$crate	$version	$suite	$deb	$debsha")
  fi
done < <(rows)

if [ ${#missing[@]} -gt 0 ]; then
  echo "debian-crates: downloading ${#missing[@]} pinned package(s) from $MIRROR"
  # shellcheck disable=SC2046
  apt_state "$OUT/apt" 0 $(printf '%s\n' "${missing[@]}" | cut -f3 | sort -u)
  specs=()
  for m in "${missing[@]}"; do
    IFS=$'\t' read -r _ _ _ deb _ <<< "$m"
    pkg=${deb%%_*}; ver=${deb#*_}; ver=${ver%_*}; specs+=("$pkg=${ver//%3a/:}")
  done
  # One apt-get call for all (much faster); only when it fails, one per package to name the gone ones.
  gone=()
  if ! ( cd "$TMP" && apt-get "${APT[@]}" -q download "${specs[@]}" ) > "$TMP/dl.log" 2>&1; then
    for m in "${missing[@]}"; do
      IFS=$'\t' read -r crate version suite deb _ <<< "$m"
      pkg=${deb%%_*}; ver=${deb#*_}; ver=${ver%_*}; ver=${ver//%3a/:}
      [ -f "$TMP/$deb" ] || ( cd "$TMP" && apt-get "${APT[@]}" -q download "$pkg=$ver" ) >> "$TMP/dl.log" 2>&1 && continue
      have=$(apt-cache "${APT[@]}" madison "$pkg" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); printf "%s ", $2 }')
      have=${have% }; gone+=("  $crate $version: $pkg $ver is not in $suite (it has: ${have:-no $pkg at all})")
    done
    [ ${#gone[@]} -gt 0 ] || { tail -5 "$TMP/dl.log" >&2; die "downloading from $MIRROR failed"; }
  fi
  if [ ${#gone[@]} -gt 0 ]; then
    printf 'debian-crates: error: pinned package(s) have left Debian'"'"'s archive:\n' >&2
    printf '%s\n' "${gone[@]}" >&2
    die "bump these pins in $PINS to a version Debian has (README.md, \"Adding or bumping a crate\"), then update Cargo.lock to match"
  fi
  for m in "${missing[@]}"; do
    IFS=$'\t' read -r crate version _ deb debsha <<< "$m"
    mv "$TMP/$deb" "$OUT/debs/$deb" 2>/dev/null || die "apt-get did not leave $deb (pin: $crate $version); its name in $PINS must be Debian's file name"
    echo "$debsha  $OUT/debs/$deb" | sha256sum -c --status \
      || die "$deb does not match its pinned sha256 (pin: $crate $version in $PINS)"
  done
fi

# ------------------------------------------------------------------ 2. + 3. the registry
REG=$OUT/registry.new; rm -rf "$REG"; mkdir -p "$REG"
while IFS=$'\t' read -r crate version _ deb _ cratesha; do
  x=$TMP/x-$crate-$version; mkdir -p "$x"; dpkg-deb -x "$OUT/debs/$deb" "$x"
  src=("$x"/usr/share/cargo/registry/*/)
  [ ${#src[@]} -eq 1 ] && [ -f "${src[0]}/Cargo.toml" ] || die "$deb: expected one crate folder inside"
  dst=$REG/$crate-$version; cp -a "${src[0]}" "$dst"
  grep -q "^version = \"$version\"" "$dst/Cargo.toml" || die "$deb does not hold $crate $version (pin row wrong?)"
  if [ -s "$dst/debian/patches/series" ]; then
    # Last patch first; a series line may carry a -pN strip level.
    while read -r p opt; do
      strip=1; case "${opt:-}" in -p[0-9]) strip=${opt#-p};; esac
      patch -d "$dst" -R -p"$strip" -s -f --no-backup-if-mismatch -r - -i "$dst/debian/patches/$p" > /dev/null \
        || die "$crate $version: cannot reverse Debian's patch $p"
    done < <(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$dst/debian/patches/series" | tac)
  fi
  rm -rf "$dst/debian"
  # A directory source lists no files: cargo checks only the package checksum against Cargo.lock.
  printf '{"package":"%s","files":{}}' "$cratesha" > "$dst/.cargo-checksum.json"
done < <(rows)
rm -rf "$OUT/registry"; mv "$REG" "$OUT/registry"
echo "debian-crates: $(rows | wc -l) crates in $OUT/registry"

#!/usr/bin/env bash
# Fetch the third-party C sources pinned in emsdk.lock from Debian source packages,
# verify the upstream tarball's sha256 and unpack it under .deps/src/NAME.
#
# apt runs with a private configuration under .deps/apt (own sources list, lists and
# cache): the system's apt configuration is never changed. The mirror URI is read from
# the machine's own apt sources at run time, so no host name is written in this repo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lock="$top/emsdk.lock"
deps="${DEPS:-$top/.deps}"
want="${*:-}"   # optional: names to fetch (default: all)

die() { echo "fetch-sources: $*" >&2; exit 1; }

mirror_uri() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: the first URIs line of a stanza whose Suites mention a Debian suite
    uri=$(awk '/^URIs:/{u=$2} /^Suites:/ && /(bookworm|trixie|bullseye|sid)( |$)/ && u!="" {print u; exit}' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  die "no Debian mirror URI found in /etc/apt/sources.list.d/ (needed for deb-src)"
}

apt_state() {
  local suites="$1" dir="$deps/apt"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/etc"
  local uri; uri=$(mirror_uri)
  : > "$dir/etc/sources.list"
  for s in $suites; do
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $s main" >> "$dir/etc/sources.list"
  done
  cat > "$dir/etc/apt.conf" <<CONF
Dir::Etc::SourceList "$dir/etc/sources.list";
Dir::Etc::SourceParts "/nonexistent";
Dir::Etc::Preferences "/nonexistent";
Dir::Etc::PreferencesParts "/nonexistent";
Dir::State::Lists "$dir/lists";
Dir::State::Status "/var/lib/dpkg/status";
Dir::Cache "$dir/cache";
APT::Sandbox::User "root";
Acquire::Languages "none";
CONF
  export APT_CONFIG="$dir/etc/apt.conf"
  if [ ! -f "$dir/.updated" ] || [ "$(cat "$dir/.updated")" != "$suites" ]; then
    apt-get update -q >"$dir/update.log" 2>&1 || { cat "$dir/update.log" >&2; die "apt-get update (private state) failed"; }
    echo "$suites" > "$dir/.updated"
  fi
}

mapfile -t rows < <(awk '$1=="source"{print $2, $3, $4, $5, $6, $7}' "$lock")
[ ${#rows[@]} -gt 0 ] || die "no 'source' lines in $lock"
suites=$(printf '%s\n' "${rows[@]}" | awk '{print $4}' | sort -u | tr '\n' ' ')

mkdir -p "$deps/dl" "$deps/src"
for row in "${rows[@]}"; do
  read -r name pkg ver suite tarball sha <<<"$row"
  if [ -n "$want" ] && ! [[ " $want " == *" $name "* ]]; then continue; fi
  stamp="$deps/src/$name/.corebpf-sha256"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha" ]; then continue; fi
  if [ ! -f "$deps/dl/$tarball" ] || ! echo "$sha  $deps/dl/$tarball" | sha256sum -c --status; then
    apt_state "$suites"
    echo "fetch-sources: apt-get source --download-only $pkg=$ver ($suite)"
    (cd "$deps/dl" && apt-get source --download-only -q "$pkg=$ver" >"$deps/dl/$name.log" 2>&1) \
      || { cat "$deps/dl/$name.log" >&2; die "could not download source package $pkg=$ver"; }
  fi
  [ -f "$deps/dl/$tarball" ] || die "$pkg=$ver did not provide $tarball"
  got=$(sha256sum "$deps/dl/$tarball" | cut -d' ' -f1)
  [ "$got" = "$sha" ] || die "sha256 mismatch for $tarball: got $got, emsdk.lock pins $sha"
  rm -rf "$deps/src/$name" "$deps/src/.$name.tmp"
  mkdir -p "$deps/src/.$name.tmp"
  tar -xf "$deps/dl/$tarball" -C "$deps/src/.$name.tmp"
  # the tarball holds one top directory (libbpf-1.5.0, elfutils-0.192, zlib-1.3.1)
  mv "$deps/src/.$name.tmp"/* "$deps/src/$name"
  rmdir "$deps/src/.$name.tmp"
  echo "$sha" > "$stamp"
  echo "fetch-sources: $name $ver ok ($sha)"
done

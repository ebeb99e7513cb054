#!/usr/bin/env bash
# Regenerate the kernel BTF fixtures in testdata/btf/ from Debian kernel packages.
#
#   scripts/extract-btf.sh [NAME...]          rebuild the fixtures listed in
#                                             testdata/btf/fixtures.list (all, or only NAMEs)
#   scripts/extract-btf.sh --avail ARCH SUITE...
#                                             list the kernel image packages apt sees now
#
# Run by hand only (CI never downloads kernels). For each fixture: `apt-get download`
# the kernel package (never installed), unpack only the kernel image, pull out the .BTF
# blob (ELF section, x86 bzImage payload, compressed payload, or a header scan of a raw
# image), validate it, optionally pull the split BTF of some modules, and write
#   testdata/btf/NAME.btf.xz              raw BTF, xz -9 single-threaded (deterministic)
#   testdata/btf/NAME.mod-MODULE.btf.xz   split BTF of MODULE.ko (base: NAME.btf.xz)
#   testdata/btf/NAME.config.xz           the kernel's /boot/config-KREL, whole
#   testdata/btf/NAME.kallsyms.xz         its symbols in /proc/kallsyms form ("ADDR TYPE NAME"),
#                                         from System.map (see below)
#   testdata/btf/manifest.json            provenance and facts of every fixture
# Debian's image packages carry only a stub System.map ("The real System.map is in the
# linux-image-KREL-dbg package"): the real one is read from the -dbg package (about 1 GB,
# downloaded and deleted again; tar stops right after System.map, its first member). Only
# names a C extern can spell are kept (no "."), without the __pfx_/__cfi_ padding
# markers and the export tables (__ksymtab_/__kstrtab/__kcrctab_): what a typeless __ksym
# can resolve to, at about a tenth of the bytes.
# An existing .xz whose content is unchanged is left alone, so re-runs do not churn.
#
# apt runs with one private state per architecture under .deps/btf-apt/ARCH (own
# sources.list, lists, cache, empty dpkg status, Architectures = that one arch). The
# mirror URIs are read from /etc/apt/sources.list.d/*.sources at run time; the system
# apt configuration is never changed.
#
# Needs: apt-get, apt-cache, dpkg-deb, tar, node, xz, zstd, gzip (lz4/bzip2 if a kernel
# uses them); bpftool, when present, cross-checks every blob.
set -euo pipefail
export LC_ALL=C
top=$(cd "$(dirname "$0")/.." && pwd)
outdir="$top/testdata/btf"
list="$outdir/fixtures.list"
deps="${DEPS:-$top/.deps}"
aptroot="$deps/btf-apt"

die() { echo "extract-btf: $*" >&2; exit 1; }
note() { echo "extract-btf: $*" >&2; }

# ------------------------------------------------------------------------ node helper
# Binary work (ELF sections, bzImage header, BTF header scan and type walk, manifest
# merge) is done by this dependency-free node script; bash drives apt and the tools.
read -r -d '' HELPER <<'JS' || true
import fs from 'node:fs';
const [cmd, ...args] = process.argv.slice(1);
const fail = (m) => { process.stderr.write(`extract-btf: ${m}\n`); process.exit(1); };
// record size after the 12-byte btf_type, by kind (BTF_KIND_* 1..19)
const extra = (kind, vlen) => {
  switch (kind) {
    case 1: return 4; case 3: return 12; case 4: case 5: return 12 * vlen;
    case 6: return 8 * vlen; case 13: return 8 * vlen; case 14: return 4;
    case 15: return 12 * vlen; case 17: return 4; case 19: return 12 * vlen;
    case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18: return 0;
    default: return -1;
  }
};
// Validate a BTF blob at buf[off...]; split = no NUL-first-string rule.
// Returns {size, endian, types} or a string saying what is wrong.
function btfAt(buf, off, split) {
  if (off + 24 > buf.length) return 'too short for a header';
  let le;
  if (buf[off] === 0x9f && buf[off + 1] === 0xeb) le = true;
  else if (buf[off] === 0xeb && buf[off + 1] === 0x9f) le = false;
  else return 'bad magic';
  const u32 = (o) => (le ? buf.readUInt32LE(off + o) : buf.readUInt32BE(off + o));
  if (buf[off + 2] !== 1) return `version ${buf[off + 2]}`;
  const hdr = u32(4), toff = u32(8), tlen = u32(12), soff = u32(16), slen = u32(20);
  if (hdr < 24 || hdr > 256 || hdr % 4) return `hdr_len ${hdr}`;
  if (toff % 4 || tlen % 4) return 'type section misaligned';
  if (toff + tlen > soff && soff + slen > toff) return 'sections overlap';
  const size = hdr + Math.max(toff + tlen, soff + slen);
  if (off + size > buf.length) return 'blob runs past the end';
  if (slen === 0 || buf[off + hdr + soff + slen - 1] !== 0) return 'string section not NUL-terminated';
  if (!split && buf[off + hdr + soff] !== 0) return 'string section does not start with NUL';
  let p = off + hdr + toff, end = p + tlen, types = 0;
  while (p < end) {
    if (p + 12 > end) return `type ${types + 1} truncated`;
    const info = le ? buf.readUInt32LE(p + 4) : buf.readUInt32BE(p + 4);
    const n = extra((info >>> 24) & 0x1f, info & 0xffff);
    if (n < 0) return `type ${types + 1} has unknown kind ${(info >>> 24) & 0x1f}`;
    p += 12 + n; types++;
  }
  if (p !== end) return 'last type runs past the type section';
  return { size, endian: le ? 'little' : 'big', types };
}
function elfSection(buf, want) {
  if (buf.readUInt32BE(0) !== 0x7f454c46) return null;
  const is64 = buf[4] === 2, le = buf[5] === 1;
  const r16 = (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const r32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const rA = (o) => (is64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : r32(o));
  const shoff = rA(is64 ? 0x28 : 0x20), shentsize = r16(is64 ? 0x3a : 0x2e);
  let shnum = r16(is64 ? 0x3c : 0x30), shstrndx = r16(is64 ? 0x3e : 0x32);
  if (!shoff) return null;
  const sh = (i) => {
    const b = shoff + i * shentsize;
    return { name: r32(b), off: rA(b + (is64 ? 0x18 : 0x10)), size: rA(b + (is64 ? 0x20 : 0x14)) };
  };
  if (shnum === 0) shnum = sh(0).size;           // extended numbering
  if (shstrndx === 0xffff) shstrndx = r32(shoff + (is64 ? 0x28 : 0x18));
  const strs = sh(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    const n0 = strs.off + s.name, n1 = buf.indexOf(0, n0);
    if (buf.toString('latin1', n0, n1) === want) return buf.subarray(s.off, s.off + s.size);
  }
  return null;
}
const compressors = [
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])], ['xz', Buffer.from('fd377a585a00', 'hex')],
  ['gzip', Buffer.from([0x1f, 0x8b, 0x08])], ['lz4', Buffer.from([0x02, 0x21, 0x4c, 0x18])],
  ['lzma', Buffer.from([0x5d, 0x00, 0x00, 0x00])], ['bzip2', Buffer.from('BZh91AY&SY', 'latin1')],
];
switch (cmd) {
  case 'check': {            // check FILE [split]: print "size endian types"
    const r = btfAt(fs.readFileSync(args[0]), 0, args[1] === 'split');
    if (typeof r === 'string') fail(`${args[0]}: ${r}`);
    if (r.size !== fs.statSync(args[0]).size) fail(`${args[0]}: trailing bytes after the blob`);
    console.log(r.size, r.endian, r.types);
    break;
  }
  case 'elf': {              // elf IN OUT: copy section .BTF; exit 3 when IN is not ELF / has none
    const b = elfSection(fs.readFileSync(args[0]), '.BTF');
    if (!b) process.exit(3);
    fs.writeFileSync(args[1], b);
    break;
  }
  case 'scan': {             // scan IN OUT: copy the largest valid BTF blob found in IN
    const buf = fs.readFileSync(args[0]);
    let best = null;
    for (const m of [Buffer.from([0x9f, 0xeb, 0x01]), Buffer.from([0xeb, 0x9f, 0x01])]) {
      for (let i = buf.indexOf(m); i >= 0; i = buf.indexOf(m, i + 1)) {
        const r = btfAt(buf, i, false);
        if (typeof r !== 'string' && (!best || r.size > best.size)) best = { off: i, size: r.size };
      }
    }
    if (!best) process.exit(3);
    fs.writeFileSync(args[1], buf.subarray(best.off, best.off + best.size));
    console.log(best.off);
    break;
  }
  case 'bzimage': {          // bzimage IN: "offset length compressor" of an x86 bzImage payload
    const buf = fs.readFileSync(args[0]);
    if (buf.length < 0x250 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') process.exit(3);
    const off = ((buf[0x1f1] || 4) + 1) * 512 + buf.readUInt32LE(0x248);
    const c = compressors.find(([, m]) => buf.subarray(off, off + m.length).equals(m));
    if (!c) fail(`${args[0]}: unknown bzImage payload compression`);
    console.log(off, buf.readUInt32LE(0x24c), c[0]);
    break;
  }
  case 'payloads': {         // payloads IN: "offset compressor" candidates, at most 8 per kind
    const buf = fs.readFileSync(args[0]);
    for (const [name, m] of compressors)
      for (let i = buf.indexOf(m), k = 0; i >= 0 && k < 8; i = buf.indexOf(m, i + 1), k++) console.log(i, name);
    break;
  }
  case 'entry': {            // entry OUT key=value...: one manifest entry, fixed key order
    const kv = Object.fromEntries(args.slice(1).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
    const keys = ['file', 'package', 'version', 'arch', 'suite', 'kernelRelease', 'endianness',
      'debSha256', 'btfSha256', 'btfSize', 'typeCount', 'base'];
    const e = {};
    for (const k of keys) {
      const v = kv[k];
      if (v === undefined) fail(`manifest entry lacks ${k}`);
      e[k] = k === 'btfSize' || k === 'typeCount' ? Number(v) : k === 'base' && v === '' ? null : v;
    }
    // the kernel's config and symbols: {file, package, debSha256, sha256, size[, symbols]}
    for (const what of ['kconfig', 'kallsyms']) {
      if (kv[`${what}File`] === undefined) continue;
      const o = {};
      for (const k of ['File', 'Package', 'DebSha256', 'Sha256', 'Size', 'Symbols']) {
        const v = kv[what + k];
        if (v === undefined) { if (k === 'Symbols') continue; fail(`manifest entry lacks ${what}${k}`); }
        o[k[0].toLowerCase() + k.slice(1)] = k === 'Size' || k === 'Symbols' ? Number(v) : v;
      }
      e[what] = o;
    }
    fs.writeFileSync(args[0], JSON.stringify(e));
    break;
  }
  case 'merge': {            // merge MANIFEST KEEPFILES ENTRY...: replace/add entries, drop others
    const [man, keep, ...parts] = args;
    const old = fs.existsSync(man) ? JSON.parse(fs.readFileSync(man, 'utf8')) : [];
    const keepSet = new Set(keep.split(' ').filter(Boolean));
    const byFile = new Map(old.filter((e) => keepSet.has(e.file)).map((e) => [e.file, e]));
    for (const p of parts) { const e = JSON.parse(fs.readFileSync(p, 'utf8')); byFile.set(e.file, e); }
    const all = [...byFile.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    fs.writeFileSync(man, JSON.stringify(all, null, 2) + '\n');
    break;
  }
  default: fail(`helper: unknown command ${cmd}`);
}
JS
helper() { node --input-type=module -e "$HELPER" "$@"; }

# -------------------------------------------------------------- private apt state
# mirror_uris / apt_for: one private apt state per architecture under $aptroot
# shellcheck source=lib/apt-private.sh
. "$top/scripts/lib/apt-private.sh"

# ------------------------------------------------------------------ --avail mode
if [ "${1:-}" = --avail ]; then
  [ $# -ge 3 ] || die "usage: $0 --avail ARCH SUITE..."
  arch=$2; shift 2
  apt_for "$arch" "$*"
  mapfile -t pkgs < <({ "${APT_CACHE[@]}" pkgnames linux-image-; "${APT_CACHE[@]}" pkgnames linux-binary-; } |
                       grep -E '^linux-(image|binary)-[0-9]' | grep -vE -- '-(dbg|unsigned)$' | sort)
  [ ${#pkgs[@]} -gt 0 ] || die "no kernel packages for $arch in: $*"
  "${APT_CACHE[@]}" madison "${pkgs[@]}" | awk -F'|' '{gsub(/ /,"",$1); gsub(/ /,"",$2); split($3,a," "); print $1, $2, a[2]}' | sort -V
  exit 0
fi

# -------------------------------------------------------------- fixture building
[ -f "$list" ] || die "missing $list"
# fixtures.list: NAME ARCH SUITE PACKAGE=VERSION [MODULE...]
mapfile -t rows < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
[ ${#rows[@]} -gt 0 ] || die "$list lists no fixtures"
for n in "$@"; do
  printf '%s\n' "${rows[@]}" | awk -v n="$n" '$1 == n {f = 1} END {exit !f}' || die "$n is not in $list"
done
has_bpftool=0; command -v bpftool >/dev/null && has_bpftool=1
[ $has_bpftool = 1 ] || note "bpftool not found: blobs are checked by the header/type walk only"

work="$deps/btf-work"
rm -rf "$work"; mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
keep_files=""    # every fixture file the list describes (the manifest keeps only these)
entries=()

# download PKG:ARCH=VERSION into $1; check that VERSION comes from SUITE; print the path
download() {
  local dir=$1 pkg=$2 ver=$3 arch=$4 suite=$5
  "${APT_CACHE[@]}" madison "$pkg:$arch" 2>/dev/null |
    awk -F'|' -v v="$ver" -v s="$suite" '{gsub(/ /,"",$2)} $2 == v && $3 ~ (" " s "/") {f = 1} END {exit !f}' ||
    die "$pkg=$ver is not in $suite for $arch any more; pick a current one with: $0 --avail $arch $suite"
  rm -f "$dir"/*.deb
  (cd "$dir" && "${APT_GET[@]}" download "$pkg:$arch=$ver" >"$dir/download.log" 2>&1) ||
    { cat "$dir/download.log" >&2; die "apt-get download $pkg:$arch=$ver failed"; }
  local deb=("$dir"/*.deb)
  [ -f "${deb[0]}" ] || die "apt-get download $pkg:$arch=$ver gave no .deb"
  echo "${deb[0]}"
}

# codename ARCH SUITE: the Codename of SUITE's (verified) InRelease, e.g. stable -> trixie
codename() {
  local f c
  for f in "$aptroot/$1/lists/"*"_dists_${2}_InRelease"; do
    [ -f "$f" ] && c=$(awk '/^Codename:/ {print $2; exit}' "$f") && [ -n "$c" ] && { echo "$c"; return; }
  done
  echo "$2"
}

# decompress FILE from byte OFFSET [LENGTH] with compressor NAME into OUT
decompress() {
  local f=$1 off=$2 len=$3 name=$4 out=$5 dec
  case $name in
    zstd) dec="zstd -dcq" ;; xz) dec="xz -dc --single-stream" ;; gzip) dec="gzip -dc" ;;
    lz4) dec="lz4 -dc" ;; lzma) dec="xz --format=lzma -dc" ;; bzip2) dec="bzip2 -dc" ;;
  esac
  command -v "${dec%% *}" >/dev/null || { note "warning: ${dec%% *} not installed"; return 1; }
  if [ -n "$len" ]; then tail -c +$((off + 1)) "$f" | head -c "$len"; else tail -c +$((off + 1)) "$f"; fi |
    $dec > "$out" 2>/dev/null || true     # trailing data after the stream is normal here
  [ "$(stat -c %s "$out")" -gt $((1 << 20)) ]
}

# kernel_btf IMAGE OUT: write the vmlinux BTF of a kernel image; sets $method
kernel_btf() {
  local img=$1 out=$2 w=$3 off len name pl
  if helper elf "$img" "$out"; then method="elf .BTF"; return 0; fi
  if pl=$(helper bzimage "$img"); then
    read -r off len name <<<"$pl"
    if decompress "$img" "$off" "$len" "$name" "$w/vmlinux" && helper elf "$w/vmlinux" "$out"; then
      method="bzImage $name payload, elf .BTF"; return 0
    fi
  fi
  if off=$(helper scan "$img" "$out"); then method="raw image, BTF header at $off"; return 0; fi
  while read -r off name; do
    decompress "$img" "$off" "" "$name" "$w/vmlinux" || continue
    if helper elf "$w/vmlinux" "$out"; then method="$name payload at $off, elf .BTF"; return 0; fi
    if pl=$(helper scan "$w/vmlinux" "$out"); then
      method="$name payload at $off, BTF header at $pl"; return 0
    fi
  done < <(helper payloads "$img")
  return 1
}

# compress RAW to DEST.btf.xz unless DEST already holds exactly this blob
store() {
  local raw=$1 dest=$2 sha
  sha=$(sha256sum < "$raw" | cut -d' ' -f1)
  if [ -f "$dest" ] && [ "$(xz -dc "$dest" | sha256sum | cut -d' ' -f1)" = "$sha" ]; then
    note "  $(basename "$dest") unchanged"
    return 0
  fi
  xz -9 -T1 --check=crc64 -c "$raw" > "$dest.tmp"
  mv "$dest.tmp" "$dest"
}

# kernel_files W DEB PKG DEB_SHA VER ARCH SUITE KREL: write $name.config.xz and
# $name.kallsyms.xz; sets kfiles=(key=value ...) for the manifest entry
kernel_files() {
  local w=$1 deb=$2 pkg=$3 deb_sha=$4 ver=$5 arch=$6 suite=$7 krel=$8 cfg cdeb=$2 cpkg=$3 csha=$4 dpkg dbg map n kre
  kfiles=()
  kre=$(printf '%s' "$krel" | sed 's/[.+]/\\&/g')     # "7.2.13+deb14-amd64" as an ERE
  # config: /boot/config-KREL in the image package; 6.19+/7.x: usr/lib/modules/KREL/config
  # in linux-base-KREL
  if ! cfg=$(grep -m1 -E "^\./(boot/config-$kre|usr/lib/modules/$kre/config)$" "$w/contents"); then
    cpkg=linux-base-$krel
    mkdir -p "$w/cdeb"
    cdeb=$(download "$w/cdeb" "$cpkg" "$ver" "$arch" "$suite")
    csha=$(sha256sum "$cdeb" | cut -d' ' -f1)
    dpkg-deb -c "$cdeb" | awk '{print $NF}' > "$w/ccontents"
    cfg=$(grep -m1 -E "^\./(boot/config-$kre|usr/lib/modules/$kre/config)$" "$w/ccontents") ||
      die "$name: no kernel config in $pkg or $cpkg"
  fi
  dpkg-deb --fsys-tarfile "$cdeb" | tar -xO "$cfg" > "$w/config"
  grep -q '^CONFIG_BPF_SYSCALL=y' "$w/config" || die "$name: $cfg is not a kernel config with CONFIG_BPF_SYSCALL=y"
  rm -rf "$w/cdeb"
  store "$w/config" "$outdir/$name.config.xz"
  kfiles+=(kconfigFile="$name.config.xz" kconfigPackage="$cpkg" kconfigDebSha256="$csha"
           kconfigSha256="$(sha256sum < "$w/config" | cut -d' ' -f1)" kconfigSize="$(stat -c %s "$w/config")")
  # symbols: the real System.map is in the -dbg package
  dpkg=$pkg
  case $dpkg in linux-binary-*) dpkg=linux-image-${dpkg#linux-binary-} ;; esac
  dpkg=$dpkg-dbg
  if ! "${APT_CACHE[@]}" madison "$dpkg:$arch" 2>/dev/null |
       awk -F'|' -v v="$ver" -v s="$suite" '{gsub(/ /,"",$2)} $2 == v && $3 ~ (" " s "/") {f = 1} END {exit !f}'; then
    # (backports, for one, ship no -dbg packages)
    note "  warning: no $dpkg=$ver in $suite: no kallsyms for $name"
    rm -f "$outdir/$name.kallsyms.xz"
    note "  config $(stat -c %s "$w/config") bytes ($cpkg)"
    return 0
  fi
  mkdir -p "$w/dbg"
  dbg=$(download "$w/dbg" "$dpkg" "$ver" "$arch" "$suite")
  # (grep -m1 and --occurrence stop reading early: the writers then die of SIGPIPE)
  map=$(set +o pipefail; dpkg-deb --fsys-tarfile "$dbg" 2>/dev/null | tar -t 2>/dev/null | grep -m1 -E "/System\.map(-$kre)?$")
  [ -n "$map" ] || die "$name: no System.map in $dpkg"
  (set +o pipefail; dpkg-deb --fsys-tarfile "$dbg" 2>/dev/null | tar -xO --occurrence=1 "$map" > "$w/System.map")
  n=$(grep -cE '^[0-9a-f]{8,16} [A-Za-z] ' "$w/System.map") || true
  [ "${n:-0}" -gt 10000 ] || die "$name: $map in $dpkg is not a real System.map (${n:-0} symbols)"
  grep -E '^[0-9a-f]{8,16} [A-Za-z] [A-Za-z0-9_$]+$' "$w/System.map" |
    grep -vE ' (__pfx_|__cfi_|__ksymtab_|__kstrtab|__kcrctab_)' > "$w/kallsyms"
  grep -qE ' [Tt] (bpf_prog_load|__sys_bpf)$' "$w/kallsyms" || die "$name: $map has no bpf syscall symbols"
  store "$w/kallsyms" "$outdir/$name.kallsyms.xz"
  kfiles+=(kallsymsFile="$name.kallsyms.xz" kallsymsPackage="$dpkg" kallsymsDebSha256="$(sha256sum "$dbg" | cut -d' ' -f1)"
           kallsymsSha256="$(sha256sum < "$w/kallsyms" | cut -d' ' -f1)" kallsymsSize="$(stat -c %s "$w/kallsyms")"
           kallsymsSymbols="$(wc -l < "$w/kallsyms")")
  rm -rf "$w/dbg"
  note "  config $(stat -c %s "$w/config") bytes ($cpkg); $(wc -l < "$w/kallsyms") of $n symbols from $map ($dpkg)"
}

for row in "${rows[@]}"; do
  read -r name arch suite spec mods <<<"$row"
  pkg=${spec%%=*} ver=${spec#*=}
  [ "$pkg" != "$spec" ] || die "$name: package must be PACKAGE=VERSION in $list"
  keep_files="$keep_files $name.btf.xz $name.config.xz $name.kallsyms.xz"
  for m in $mods; do keep_files="$keep_files $name.mod-$m.btf.xz"; done
  if [ $# -gt 0 ] && ! [[ " $* " == *" $name "* ]]; then continue; fi

  note "$name: $pkg=$ver ($arch, $suite)"
  suites=$(printf '%s\n' "${rows[@]}" | awk -v a="$arch" '$2 == a {print $3}' | sort -u | tr '\n' ' ')
  apt_for "$arch" "${suites% }"
  w="$work/$name"; mkdir -p "$w/deb" "$w/root"
  deb=$(download "$w/deb" "$pkg" "$ver" "$arch" "$suite")
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || die "$deb is not $arch"
  deb_sha=$(sha256sum "$deb" | cut -d' ' -f1)
  rel=$(codename "$arch" "$suite")
  dpkg-deb -c "$deb" | awk '{print $NF}' > "$w/contents"
  img=$(grep -m1 -E '^\./(boot/vmlinu[xz]-[^/]+|usr/lib/modules/[^/]+/vmlinu[xz])$' "$w/contents") ||
    die "$pkg has no kernel image (for 6.19+/7.x kernels list the linux-binary-* package)"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$w/root" "$img"
  case $img in
    ./boot/*) krel=${img##*/vmlinu?-} ;;
    *) krel=${img%/*}; krel=${krel##*/} ;;
  esac
  kernel_btf "$w/root/$img" "$w/vmlinux.btf" "$w" ||
    die "$name: no BTF in $img (kernel built without CONFIG_DEBUG_INFO_BTF?)"
  read -r size endian types < <(helper check "$w/vmlinux.btf") || die "$name: extracted blob is not valid BTF"
  if [ $has_bpftool = 1 ]; then
    n=$(bpftool btf dump file "$w/vmlinux.btf" format raw | grep -c '^\[') || die "$name: bpftool rejects the blob"
    [ "$n" = "$types" ] || die "$name: bpftool counts $n types, the type walk $types"
  fi
  store "$w/vmlinux.btf" "$outdir/$name.btf.xz"
  note "  $krel $endian, $size bytes, $types types ($method)"
  kernel_files "$w" "$deb" "$pkg" "$deb_sha" "$ver" "$arch" "$suite" "$krel"
  helper entry "$w/entry.json" file="$name.btf.xz" package="$pkg" version="$ver" arch="$arch" \
    suite="$rel" kernelRelease="$krel" endianness="$endian" debSha256="$deb_sha" \
    btfSha256="$(sha256sum < "$w/vmlinux.btf" | cut -d' ' -f1)" btfSize="$size" typeCount="$types" base= \
    "${kfiles[@]}"
  entries+=("$w/entry.json")

  # split BTF of modules: from the image package (<= 6.18) or linux-modules-KREL (6.19+)
  if [ -n "$mods" ]; then
    mdeb=$deb mpkg=$pkg mdeb_sha=$deb_sha
    if ! grep -q '/kernel/.*\.ko' "$w/contents"; then
      rm -f "$deb"
      mpkg=linux-modules-$krel
      mdeb=$(download "$w/deb" "$mpkg" "$ver" "$arch" "$suite")
      mdeb_sha=$(sha256sum "$mdeb" | cut -d' ' -f1)
      dpkg-deb -c "$mdeb" | awk '{print $NF}' > "$w/contents"
    fi
    for m in $mods; do
      ko=$(grep -m1 -E "/$m\.ko(\.xz|\.zst|\.gz)?$" "$w/contents") || die "$name: module $m not in $mpkg"
      dpkg-deb --fsys-tarfile "$mdeb" | tar -x -C "$w/root" "$ko"
      case $ko in
        *.xz) xz -dc "$w/root/$ko" ;; *.zst) zstd -dcq "$w/root/$ko" ;;
        *.gz) gzip -dc "$w/root/$ko" ;; *) cat "$w/root/$ko" ;;
      esac > "$w/m.ko"
      helper elf "$w/m.ko" "$w/m.btf" || die "$name: $ko has no .BTF section"
      read -r msize mendian mtypes < <(helper check "$w/m.btf" split) || die "$name: $m split BTF is invalid"
      [ "$mendian" = "$endian" ] || die "$name: $m BTF endianness differs from vmlinux"
      if [ $has_bpftool = 1 ]; then
        n=$(bpftool -B "$w/vmlinux.btf" btf dump file "$w/m.btf" format raw | grep -c '^\[') ||
          die "$name: bpftool rejects the $m split BTF"
        [ "$n" = "$mtypes" ] || die "$name: bpftool counts $n $m types, the type walk $mtypes"
      fi
      store "$w/m.btf" "$outdir/$name.mod-$m.btf.xz"
      helper entry "$w/entry-$m.json" file="$name.mod-$m.btf.xz" package="$mpkg" version="$ver" \
        arch="$arch" suite="$rel" kernelRelease="$krel" endianness="$mendian" debSha256="$mdeb_sha" \
        btfSha256="$(sha256sum < "$w/m.btf" | cut -d' ' -f1)" btfSize="$msize" typeCount="$mtypes" \
        base="$name.btf.xz"
      entries+=("$w/entry-$m.json")
      note "  module $m: $msize bytes, $mtypes types"
    done
  fi
  rm -rf "$w/deb" "$w/root" "$w/vmlinux" "$w/m.ko"     # keep only the small blobs/entries
done

helper merge "$outdir/manifest.json" "$keep_files" "${entries[@]}"
for f in "$outdir"/*.btf.xz "$outdir"/*.config.xz "$outdir"/*.kallsyms.xz; do
  [ -f "$f" ] || continue
  [[ " $keep_files " == *" ${f##*/} "* ]] || note "warning: ${f##*/} is not in $list any more (delete it?)"
done
note "manifest: $outdir/manifest.json ($(du -sh "$outdir" | cut -f1) in $outdir)"

# shellcheck shell=bash
# A private apt state per architecture, for `apt-get download` of packages that are never
# installed (kernel images, another architecture's libraries). Sourced by the scripts that
# need it; the caller sets $aptroot and may define note()/die().
#
# The mirror URIs are read from the system's /etc/apt/sources.list.d/*.sources at run time,
# so no host name is written anywhere; the system apt configuration is never changed.
#
#   apt_for ARCH "SUITE..."   prepare $aptroot/ARCH (own sources.list, lists, cache, empty
#                             dpkg status, Architectures = ARCH) and set APT_GET / APT_CACHE

command -v note >/dev/null || note() { echo "$*" >&2; }
command -v die >/dev/null || die() { echo "$*" >&2; exit 1; }

# URIs of the system's deb822 sources: $main_uri (plain suites), $sec_uri (-security).
mirror_uris() {
  local f uri suites
  main_uri= sec_uri=
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # print "URI suites..." per stanza
    while read -r uri suites; do
      case " $suites " in
        *-security\ *) [ -n "$sec_uri" ] || sec_uri=$uri ;;
        *) [ -n "$main_uri" ] || main_uri=$uri ;;
      esac
    done < <(awk '
      /^[ \t]*$/ { if (u != "") print u, s; u = ""; s = ""; next }
      /^URIs:/ { u = $2 } /^Suites:/ { $1 = ""; s = $0 }
      END { if (u != "") print u, s }' "$f")
  done
  [ -n "$main_uri" ] || die "no Debian mirror URI in /etc/apt/sources.list.d/*.sources"
  main_uri=${main_uri%/}
  [ -n "$sec_uri" ] && sec_uri=${sec_uri%/} || sec_uri=$main_uri-security
}

apt_for() {
  local arch=$1 suites=$2 d="$aptroot/$1" s uri
  [ -n "${main_uri:-}" ] || mirror_uris
  mkdir -p "$d/etc/sources.list.d" "$d/etc/preferences.d" "$d/lists/partial" \
           "$d/cache/archives/partial" "$d/state"
  [ -f "$d/status" ] || : > "$d/status"
  for s in $suites; do
    case $s in *-security) uri=$sec_uri ;; *) uri=$main_uri ;; esac
    echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $s main"
  done > "$d/etc/sources.list.new"
  cat > "$d/etc/apt.conf" <<CONF
Dir::Etc::SourceList "$d/etc/sources.list";
Dir::Etc::SourceParts "$d/etc/sources.list.d";
Dir::Etc::Preferences "$d/etc/preferences";
Dir::Etc::PreferencesParts "$d/etc/preferences.d";
Dir::State "$d/state";
Dir::State::Lists "$d/lists";
Dir::State::status "$d/status";
Dir::Cache "$d/cache";
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
CONF
  export APT_CONFIG="$d/etc/apt.conf"
  # command-line options win over /etc/apt/apt.conf.d (which may disable the cache)
  local o=(-q -o "Dir::Cache::pkgcache=$d/cache/pkgcache.bin"
           -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
  APT_GET=(apt-get "${o[@]}") APT_CACHE=(apt-cache "${o[@]}")
  if ! cmp -s "$d/etc/sources.list.new" "$d/etc/sources.list" ||
     [ -z "$(find "$d/lists" -maxdepth 1 -name '*_Packages*' -mmin -720 | head -1)" ]; then
    mv "$d/etc/sources.list.new" "$d/etc/sources.list"
    note "apt-get update ($arch: $suites)"
    "${APT_GET[@]}" update > "$d/update.log" 2>&1 ||
      note "warning: apt-get update ($arch) reported errors (some suites may be missing), see $d/update.log"
  else
    rm -f "$d/etc/sources.list.new"
  fi
}

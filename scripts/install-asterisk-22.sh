#!/usr/bin/env bash
# Asterisk 22 LTS on Debian 12, which packages no Asterisk of its own: Debian's unstable suite (sid)
# has it, built against sid's libraries, so it is installed into a self-contained root of its own
# (debootstrap, then apt-get inside it) and run from there as a normal process: sid's loader and
# libraries, no chroot (callcore/asterisk/installation.py knows how). Nothing of sid touches the host.
#
# The root is ${CALLCORE_ASTERISK_22_ROOT:-/opt/callcore/asterisk-22}: one per machine, shared by every
# run folder (a developer's, CI's, each test session's), since the configuration and everything
# Asterisk writes live in the run folder, not in the root. About 440 MB and a minute and a half
# (debootstrap ~60 s, the packages ~30 s) on this project's machines.
#
# Idempotent: does nothing when the root was built by this same recipe and its asterisk runs. It is
# rebuilt when the recipe (RECIPE, SUITE, PACKAGES) changes, and refreshed (apt-get upgrade inside,
# for security fixes) with CALLCORE_ASTERISK_22_REFRESH=1. A new root is built beside the old one and swapped in whole, so an
# Asterisk running from the old one keeps running and a half-built root is never used.
#
# The packages come from the Debian mirror this machine already uses, read from its apt sources:
# no host name is written in the repository.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
ROOT="${CALLCORE_ASTERISK_22_ROOT:-/opt/callcore/asterisk-22}"
SUITE=sid
PACKAGES="asterisk asterisk-modules asterisk-config"
# Bump when the way the root is built changes: a root built by another recipe is rebuilt.
RECIPE=1
STAMP_NAME=.callcore-root

. /etc/os-release
if [ "${ID:-}" != "debian" ]; then
  echo "asterisk 22 root: not needed on ${PRETTY_NAME:-this system} (its own asterisk package is used)"
  exit 0
fi

recipe="$RECIPE $SUITE $PACKAGES"

# Built by this recipe, and its asterisk runs (amd64: the loader and library folders of x86-64).
current() {
  [ -f "$ROOT/$STAMP_NAME" ] && grep -qx "recipe=$recipe" "$ROOT/$STAMP_NAME" &&
    "$ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu" \
      "$ROOT/usr/sbin/asterisk" -V >/dev/null 2>&1
}

if current && [ "${CALLCORE_ASTERISK_22_REFRESH:-0}" != "1" ]; then
  echo "asterisk 22 root: present ($ROOT, $(grep '^version=' "$ROOT/$STAMP_NAME" | cut -d= -f2-))"
  exit 0
fi

mirror=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { echo "cannot find the apt mirror of this machine" >&2; exit 1; }

command -v debootstrap >/dev/null 2>&1 || {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

$SUDO mkdir -p "$(dirname "$ROOT")"
# One builder at a time (two test runs starting together on one machine).
exec 9>"$(dirname "$ROOT")/.$(basename "$ROOT").lock"
flock 9
if current && [ "${CALLCORE_ASTERISK_22_REFRESH:-0}" != "1" ]; then
  echo "asterisk 22 root: present ($ROOT), built meanwhile"
  exit 0
fi

started=$(date +%s)
log=/tmp/callcore-asterisk-22-install.log
: >"$log"
fail() { tail -20 "$log" >&2; echo "asterisk 22 root: failed (whole log: $log)" >&2; exit 1; }
# Runs apt-get inside a root with no service started by a package's postinst (the policy-rc.d
# convention) and /proc mounted for the maintainer scripts, unmounted whatever happens.
in_root() {
  local root=$1; shift
  $SUDO mount -t proc proc "$root/proc"
  local rc=0
  $SUDO env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 chroot "$root" "$@" >>"$log" 2>&1 || rc=$?
  $SUDO umount "$root/proc" || $SUDO umount -l "$root/proc"
  return $rc
}
# No service started by a postinst; and apt inside the root fetches the way the host's apt does (a
# proxy, a snapshot mirror whose Release files are past their Valid-Until), so those settings of the
# host are copied in.
prepare() {
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$1/usr/sbin/policy-rc.d" >/dev/null
  $SUDO chmod 755 "$1/usr/sbin/policy-rc.d"
  apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' |
    $SUDO tee "$1/etc/apt/apt.conf.d/50callcore-host" >/dev/null || true
}

if [ "${CALLCORE_ASTERISK_22_REFRESH:-0}" = "1" ] && current; then
  work="$ROOT"
  echo "asterisk 22 root: refreshing $ROOT from $SUITE"
  prepare "$work"
  in_root "$work" apt-get update -qq || fail
  in_root "$work" apt-get upgrade -y -qq || fail
else
  work="$ROOT.new"
  # A build stopped half-way may have left its /proc mounted: never delete through it.
  ! mountpoint -q "$work/proc" 2>/dev/null || $SUDO umount -l "$work/proc"
  $SUDO rm -rf "$work"
  echo "asterisk 22 root: building $ROOT from $SUITE (debootstrap)"
  $SUDO debootstrap --variant=minbase "$SUITE" "$work" "$mirror" >>"$log" 2>&1 || fail
  prepare "$work"
  in_root "$work" apt-get update -qq || fail
  in_root "$work" apt-get install -y -qq --no-install-recommends $PACKAGES || fail
  in_root "$work" apt-get clean || fail
fi

loader=("$work/lib64/ld-linux-x86-64.so.2" --library-path "$work/usr/lib/x86_64-linux-gnu:$work/lib/x86_64-linux-gnu")
version=$("${loader[@]}" "$work/usr/sbin/asterisk" -V)
printf 'recipe=%s\nversion=%s\nsuite=%s\nbuilt=%s\n' "$recipe" "$version" "$SUITE" "$(date -u +%FT%TZ)" |
  $SUDO tee "$work/$STAMP_NAME" >/dev/null

if [ "$work" != "$ROOT" ]; then
  if [ -e "$ROOT" ]; then
    $SUDO rm -rf "$ROOT.old"
    $SUDO mv "$ROOT" "$ROOT.old"
  fi
  $SUDO mv "$work" "$ROOT"
  $SUDO rm -rf "$ROOT.old"
fi
echo "asterisk 22 root: $version in $ROOT ($(( $(date +%s) - started )) s, $(du -sh "$ROOT" | cut -f1))"

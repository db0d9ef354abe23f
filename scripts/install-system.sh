#!/usr/bin/env bash
# Installs the system packages callcore needs on Debian 12 or Ubuntu.
# Asterisk is not in Debian 12's suites: add bullseye (main) from the mirror this machine
# already uses, read from its own apt configuration (no host name is written here).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS="asterisk asterisk-modules asterisk-config asterisk-voicemail sip-tester espeak-ng sox ffmpeg libsox-fmt-mp3
      postgresql fonts-wqy-microhei python3-venv curl"

need=0
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need=1
done
# The console's build (Node.js, npm) and its browser tests (Chromium): Debian's packages, unless the
# machine already has a node, npm or chromium of its own (a newer Node.js bundles npm, and Debian's
# npm would conflict with it). Ubuntu's chromium is a snap, which containers cannot run: there the
# browser tests take CALLCORE_TEST_CHROMIUM (a Chrome or Chromium binary) instead.
EXTRA=""
command -v node >/dev/null 2>&1 || EXTRA="$EXTRA nodejs"
command -v npm >/dev/null 2>&1 || EXTRA="$EXTRA npm"
if [ "$(. /etc/os-release; echo "${ID:-}")" = "debian" ]; then
  command -v chromium >/dev/null 2>&1 || EXTRA="$EXTRA chromium"
fi
# Asterisk 22 LTS on Debian 12, in a root of its own: the default wherever it exists. On Ubuntu 24.04
# it does nothing: the distribution's own asterisk (20 LTS) is the one PKGS installs, and the one that
# runs. A root that cannot be built (no mirror at hand) leaves bullseye's 16 running, said loudly;
# it stops only those who chose 22.
asterisk_22() {
  if ! bash "$(dirname "$0")/install-asterisk-22.sh"; then
    echo "warning: the Asterisk 22 root was not built; bullseye's Asterisk 16 runs instead, which gets no security fixes (CALLCORE_ASTERISK=22 needs the root)" >&2
    [ "${CALLCORE_ASTERISK:-}" != "22" ] || exit 1
  fi
}
[ "$need" -eq 1 ] || [ -n "$EXTRA" ] || { echo "system packages: present"; asterisk_22; exit 0; }

. /etc/os-release
if [ "${ID:-}" = "debian" ] && ! apt-cache policy asterisk 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  mirror=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$mirror" ] || { echo "cannot find the apt mirror of this machine" >&2; exit 1; }
  echo "deb $mirror bullseye main" | $SUDO tee /etc/apt/sources.list.d/callcore-bullseye.list >/dev/null
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  $PKGS $EXTRA >/dev/null
# The packaged Asterisk service is not used: callcore runs its own instance per run folder.
$SUDO systemctl disable --now asterisk >/dev/null 2>&1 || true
pkill -x asterisk 2>/dev/null || true
echo "system packages: installed"
asterisk_22

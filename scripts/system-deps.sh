#!/usr/bin/env bash
# Installs the real programs the tests run against (Debian packages), and fails loudly when
# it cannot: tests never skip for a missing program.
#   chromium      browser tests (driven by Playwright through executable_path)
#   redis-server  the shared cache for many instances
#   nginx         the CDN / reverse-proxy tests
#   wrk           load benchmarks
#   caddy         validates deploy/Caddyfile and Caddyfile.on-demand, and runs the latter
#   tor           checks deploy/torrc (`tor --verify-config`), the onion service's config
#   fonts-wqy-microhei  a small CJK face, so browser tests and screenshots show Chinese text
set -euo pipefail

declare -A package_of=(
  [/usr/bin/chromium]=chromium
  [/usr/bin/redis-server]=redis-server
  [/usr/sbin/nginx]=nginx
  [/usr/bin/wrk]=wrk
  [/usr/bin/caddy]=caddy
  [/usr/sbin/tor]=tor
  [/usr/share/fonts/truetype/wqy/wqy-microhei.ttc]=fonts-wqy-microhei
)

missing=()
for program in "${!package_of[@]}"; do
  [ -e "$program" ] || missing+=("${package_of[$program]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "system-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: need root to apt-get install ${missing[*]}; install them and re-run" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

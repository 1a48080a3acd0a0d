#!/bin/sh
# Entrypoint of the mirror image. Settings come from MIRROR_* environment variables (see the
# README's settings table; compose.yaml passes them from .env); sites come from the config
# file, /etc/mirror/mirror.toml unless MIRROR_CONFIG names another.
#
#   mirror-entrypoint                 serve (the default command)
#   mirror-entrypoint keys init       make every missing key in the data dir, then exit
#   mirror-entrypoint healthcheck     exit 0 when /readyz answers 200 (Docker HEALTHCHECK)
#   mirror-entrypoint COMMAND ...     any other `mirror` command, with the config file
set -eu

config="${MIRROR_CONFIG:-/etc/mirror/mirror.toml}"

case "${1:-serve}" in
  serve)
    exec mirror serve --config "$config"
    ;;
  healthcheck)
    exec python3 - <<'PY'
import os, ssl, sys, urllib.request
port = os.environ.get("MIRROR_SERVER_LISTEN", "0.0.0.0:8080").rsplit(":", 1)[1]
plain = os.environ.get("MIRROR_SERVER_PLAIN_HTTP", "false").lower() in {"1", "true", "yes"}
url = f"{'http' if plain else 'https'}://127.0.0.1:{port}/readyz"
context = ssl.create_default_context()
context.check_hostname = False  # our own self-signed certificate, asked on loopback
context.verify_mode = ssl.CERT_NONE
try:
    with urllib.request.urlopen(url, timeout=4, context=context) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
PY
    ;;
  *)
    exec mirror "$@" --config "$config"
    ;;
esac

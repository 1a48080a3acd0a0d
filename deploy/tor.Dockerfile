# Tor for the mirror's onion service, from Debian's `tor` package (compose.yaml's `tor`).
# Build in deploy/:  docker build -f tor.Dockerfile -t mirror-tor .
# Runs as Debian's debian-tor user; writes only to /var/lib/tor-mirror (the service's key
# and Tor's state, a volume), so the root file system can be read-only.
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends tor \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o debian-tor -g debian-tor -m 0700 /var/lib/tor-mirror

COPY torrc /etc/mirror/torrc

USER debian-tor
VOLUME ["/var/lib/tor-mirror"]

ENTRYPOINT ["tor", "-f", "/etc/mirror/torrc"]

#!/bin/sh
# EasyList and EasyPrivacy into $1, from Debian's webext-ublock-origin-firefox package
# (apt-get download needs no root; the package's files are extracted, never installed).
set -eu
target=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download webext-ublock-origin-firefox >/dev/null)
dpkg-deb -x "$work"/webext-ublock-origin-firefox_*.deb "$work/x"
mkdir -p "$target"
for name in easylist.txt easyprivacy.txt; do
    found=$(find "$work/x" -path "*/assets/thirdparties/easylist/$name" | head -n 1)
    test -n "$found" || { echo "bench-lists: $name not in the package" >&2; exit 1; }
    cp "$found" "$target/$name"
done
echo "bench-lists: $(cat "$target"/easy*.txt | wc -l) lines in $target"

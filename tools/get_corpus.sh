#!/bin/sh
# Fetches a public-domain English text for the language-model experiments: Ambrose
# Bierce's "The Devil's Dictionary" (1911) from the Debian package dict-devil, without
# installing it. The text is cached outside the source tree, where `qkspec reproduce`
# looks for it: $XDG_CACHE_HOME/qkspec/devil.txt (default ~/.cache/qkspec/devil.txt).
set -eu
dir="${XDG_CACHE_HOME:-$HOME/.cache}/qkspec"
out="$dir/devil.txt"
if [ -s "$out" ]; then echo "already there: $out ($(wc -c < "$out") bytes)"; exit 0; fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download dict-devil > /dev/null 2>&1; then
    echo "get_corpus: 'apt-get download dict-devil' failed; run 'apt-get update' first (as root)," >&2
    echo "or pass any plain-text file to qkspec with --text FILE" >&2
    exit 1
fi
dpkg-deb -x dict-devil_*.deb x
# dictzip is gzip-compatible
gzip -dc x/usr/share/dictd/devil.dict.dz > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"

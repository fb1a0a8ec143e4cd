#!/bin/sh
# Fetches an English text for the language-model experiments from a Debian package,
# without installing it (apt-get download + dpkg-deb -x), and caches it outside the
# source tree, in $XDG_CACHE_HOME/qkspec/ (default ~/.cache/qkspec/):
#
#   sh tools/get_corpus.sh [devil]   Ambrose Bierce's "The Devil's Dictionary" (1911,
#                                    public domain; package dict-devil): devil.txt,
#                                    384 KB. `qkspec reproduce` looks for this one.
#   sh tools/get_corpus.sh gcide     The Collaborative International Dictionary of
#                                    English (Webster's 1913 and WordNet glosses, GPL-2+;
#                                    package dict-gcide): gcide.txt, about 7.3 MB of
#                                    plain prose, every 4th entry of the dictionary
#                                    (so all letters A-Z are in it), source tags such
#                                    as [1913 Webster], cross-reference braces and
#                                    pronunciation markup removed, one line per
#                                    source line without indentation, ASCII only.
#   sh tools/get_corpus.sh all       both.
#
# Use the result with --text FILE (byte-level, V = 256) or --text FILE --words
# --vocab-max N (word-level: the N-1 most frequent whitespace-separated words and
# <unk> for the rest).
set -eu
dir="${XDG_CACHE_HOME:-$HOME/.cache}/qkspec"
what="${1:-devil}"
case "$what" in
    devil|gcide|all) ;;
    *) echo "usage: sh tools/get_corpus.sh [devil|gcide|all]" >&2; exit 2 ;;
esac
mkdir -p "$dir"

download() { # package -> the .deb in the current directory
    if ! apt-get download "$1" > /dev/null 2>&1; then
        echo "get_corpus: 'apt-get download $1' failed; run 'apt-get update' first (as root)," >&2
        echo "or pass any plain-text file to qkspec with --text FILE" >&2
        exit 1
    fi
}

get_devil() {
    out="$dir/devil.txt"
    if [ -s "$out" ]; then echo "already there: $out ($(wc -c < "$out") bytes)"; return 0; fi
    work=$(mktemp -d)
    (
        cd "$work"
        download dict-devil
        dpkg-deb -x dict-devil_*.deb x
        # dictzip is gzip-compatible
        gzip -dc x/usr/share/dictd/devil.dict.dz > "$out.tmp"
    ) || { rm -rf "$work"; exit 1; }
    rm -rf "$work"
    mv "$out.tmp" "$out"
    echo "wrote $out ($(wc -c < "$out") bytes)"
}

get_gcide() {
    out="$dir/gcide.txt"
    if [ -s "$out" ]; then echo "already there: $out ($(wc -c < "$out") bytes)"; return 0; fi
    work=$(mktemp -d)
    (
        cd "$work"
        download dict-gcide
        dpkg-deb -x dict-gcide_*.deb x
        # the body starts at the first headword with pronunciation markup ("0 \0\ adj.",
        # after the database and licence preamble); an entry starts at a line that is
        # not indented (its headword); keep entries 1, 5, 9, ...
        gzip -dc x/usr/share/dictd/gcide.dict.dz | LC_ALL=C awk '
            BEGIN { body = 0; n = 0 }
            !body && /^[^ \t][^\\]* \\[^\\]*\\/ { body = 1 }
            !body { next }
            /^[^ \t]/ { n++ }
            (n % 4) != 1 { next }
            {
                gsub(/\[[0-9]+ Webster\]|\[WordNet[^]]*\]|\[PJC\]|\[Webster [0-9]+ Suppl\.\]|\[Century Dict\.\]|\[R\.?\]/, "")
                gsub(/[{}]/, ""); gsub(/\\[^\\]*\\/, ""); sub(/^[ \t]+/, ""); gsub(/[ \t]+/, " "); gsub(/ ,/, ",")
                if ($0 != "" && $0 != " ") print
            }' | LC_ALL=C tr -cd '\11\12\40-\176' > "$out.tmp"
    ) || { rm -rf "$work"; exit 1; }
    rm -rf "$work"
    mv "$out.tmp" "$out"
    echo "wrote $out ($(wc -c < "$out") bytes)"
}

case "$what" in
    devil) get_devil ;;
    gcide) get_gcide ;;
    all) get_devil; get_gcide ;;
esac

#!/usr/bin/env bash
# Builds the Ringside C guest SDK: crt0.o and libringside.a (assets/guests/README.md,
# "Write a guest in C"). ringside-cc runs this by itself when the library is missing or older
# than its sources; run it by hand to choose the compiler or the output directory.
#
#   bash assets/guests/sdk/build.sh               into $RINGSIDE_SDK_OUT, default ~/.cache/ringside/sdk
#   bash assets/guests/sdk/build.sh --out DIR     into DIR (DIR/lib/crt0.o, DIR/lib/libringside.a)
#   CC=gcc bash assets/guests/sdk/build.sh        with another compiler (default: the Swift
#                                                 toolchain's clang, else clang, else gcc)
#
# Needs a C compiler (clang or gcc) and GNU binutils (ar, ld). Prints the output directory.
set -euo pipefail

sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=toolchain.sh
source "$sdk/toolchain.sh"

out="$(rs_sdk_default_out)"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) [[ $# -ge 2 ]] || { echo "build.sh: --out needs a directory" >&2; exit 2; }; out="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

rs_find_toolchain
mkdir -p "$out/lib"
work="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

objects=()
for src in "$sdk"/src/*.c "$sdk"/src/*.S; do
    obj="$work/$(basename "${src%.*}").o"
    "$RS_CC" "${RS_CFLAGS[@]}" -Wall -Wextra -Werror -Wno-unused-parameter -O2 -c "$src" -o "$obj"
    [[ "$(basename "$src")" == crt0.S ]] || objects+=("$obj")
done
"$RS_AR" rcsD "$work/libringside.a" "${objects[@]}"
# Rename into place: a concurrent ringside-cc sees the old files or the new ones, never half.
mv -f "$work/crt0.o" "$out/lib/crt0.o"
mv -f "$work/libringside.a" "$out/lib/libringside.a"
echo "$out"

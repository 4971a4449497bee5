#!/usr/bin/env bash
# Rebuilds every Ringside guest image from source: src/NAME.swift + runtime/ -> bin/NAME.elf
#
#   bash assets/guests/build.sh            build into assets/guests/bin/
#   bash assets/guests/build.sh --check    build into a temp dir; fail naming every image that differs from bin/
#   bash assets/guests/build.sh --out DIR  build into DIR
#   bash assets/guests/build.sh NAME ...   build only these guests
#
# Needs the Swift toolchain (SWIFT_BIN, default /opt/swift/usr/bin, else swiftc/clang on PATH)
# and GNU binutils (ld, strip). Output is byte-for-byte reproducible: no timestamps, no build
# IDs, no absolute paths (everything is compiled from relative paths inside this directory).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

SWIFT_BIN="${SWIFT_BIN:-/opt/swift/usr/bin}"
if [[ -x "$SWIFT_BIN/swiftc" ]]; then
    SWIFTC="$SWIFT_BIN/swiftc"
    CLANG="$SWIFT_BIN/clang"
else
    SWIFTC="$(command -v swiftc || true)"
    CLANG="$(command -v clang || true)"
fi
LD="${LD:-ld}"
STRIP="${STRIP:-strip}"
for tool in "$SWIFTC" "$CLANG" "$(command -v "$LD" || true)" "$(command -v "$STRIP" || true)"; do
    if [[ -z "$tool" || ! -x "$tool" ]]; then
        echo "build.sh: missing tool (need swiftc and clang from the Swift toolchain, GNU ld and strip)" >&2
        exit 2
    fi
done

mode=build
out="$here/bin"
guests=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --check) mode=check; shift ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        -*) echo "build.sh: unknown option $1" >&2; exit 2 ;;
        *) guests+=("$1"); shift ;;
    esac
done
if [[ ${#guests[@]} -eq 0 ]]; then
    for f in src/*.swift; do guests+=("$(basename "$f" .swift)"); done
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ringside-guests.XXXXXX")"
trap 'rm -rf "$work"' EXIT
if [[ $mode == check ]]; then out="$work/bin"; fi
mkdir -p "$out" "$work/obj" "$work/modcache"

export LC_ALL=C
export SOURCE_DATE_EPOCH=0

runtime_swift=(runtime/Runtime.swift runtime/Font.swift runtime/Sine.swift runtime/Input.swift runtime/Dispi.swift runtime/Cursor.swift)
# The guest ABI header the VMM compiles too (one description of layout, boot info and ports).
abi_header=../../Sources/CGuestABI/include/ringside_abi.h
repo="$(cd ../.. && pwd)"

"$CLANG" --target=x86_64-unknown-none-elf -ffreestanding -fno-builtin -nostdinc -isystem "$("$CLANG" -print-resource-dir)/include" \
    -mno-red-zone -fno-stack-protector -fno-pic -fno-asynchronous-unwind-tables -fno-ident \
    -ffile-prefix-map="$here"=. -O2 -Wall -Werror -I ../../Sources/CGuestABI/include \
    -c runtime/rt.c -o "$work/obj/rt.o"
# Port reads for mode setting, in an archive: only guests that use them link them in.
"$CLANG" --target=x86_64-unknown-none-elf -ffreestanding -fno-builtin -nostdinc -isystem "$("$CLANG" -print-resource-dir)/include" \
    -mno-red-zone -fno-stack-protector -fno-pic -fno-asynchronous-unwind-tables -fno-ident \
    -ffile-prefix-map="$here"=. -O2 -Wall -Werror \
    -c runtime/dispi.c -o "$work/obj/dispi.o"
"${AR:-ar}" rcsD "$work/obj/librs.a" "$work/obj/dispi.o"

for name in "${guests[@]}"; do
    if [[ ! -f "src/$name.swift" ]]; then echo "build.sh: no guest src/$name.swift" >&2; exit 2; fi
    "$SWIFTC" -target x86_64-unknown-none-elf \
        -enable-experimental-feature Embedded -enable-experimental-feature Extern \
        -wmo -O -parse-as-library -module-name "$name" \
        -Xcc -mno-red-zone -Xcc -fno-asynchronous-unwind-tables \
        -Xfrontend -disable-stack-protector \
        -module-cache-path "$work/modcache" \
        -import-bridging-header "$abi_header" \
        -file-prefix-map "$here"=. -file-prefix-map "$repo"=../.. \
        -c "${runtime_swift[@]}" "src/$name.swift" -o "$work/obj/$name.o"
    "$LD" -nostdlib -static --build-id=none -z max-page-size=4096 -z noexecstack \
        -T link.ld -o "$work/obj/$name.elf" "$work/obj/$name.o" "$work/obj/rt.o" "$work/obj/librs.a"
    "$STRIP" --strip-all -R .comment -o "$out/$name.elf" "$work/obj/$name.elf"
done

if [[ $mode == check ]]; then
    stale=()
    for name in "${guests[@]}"; do
        if ! cmp -s "$out/$name.elf" "$here/bin/$name.elf"; then stale+=("$name"); fi
    done
    if [[ ${#stale[@]} -gt 0 ]]; then
        echo "build.sh --check: stale or missing images in assets/guests/bin: ${stale[*]}" >&2
        echo "  run: bash assets/guests/build.sh" >&2
        exit 1
    fi
    echo "build.sh --check: ${#guests[@]} guest images up to date"
else
    for name in "${guests[@]}"; do
        printf '%-12s %7d bytes\n' "$name.elf" "$(stat -c %s "$out/$name.elf")"
    done
fi

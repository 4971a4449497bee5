#!/usr/bin/env bash
# Builds the Ringside boot stub for QEMU: entry.S + loader.c + image.c -> bin/ringside-qemu-stub.bin
# (a flat multiboot image for `qemu-system-x86_64 -kernel`; README.md here).
#
#   bash assets/peers/qemu/build.sh            build into assets/peers/qemu/bin/
#   bash assets/peers/qemu/build.sh --check    build into a temp dir; fail if bin/ differs
#
# Needs clang from the Swift toolchain (SWIFT_BIN, default /opt/swift/usr/bin, else clang on
# PATH) and GNU binutils (ld, objcopy). Byte-for-byte reproducible: no timestamps, no build
# IDs, no absolute paths.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

SWIFT_BIN="${SWIFT_BIN:-/opt/swift/usr/bin}"
if [[ -x "$SWIFT_BIN/clang" ]]; then CLANG="$SWIFT_BIN/clang"; else CLANG="$(command -v clang || true)"; fi
LD="${LD:-ld}"
OBJCOPY="${OBJCOPY:-objcopy}"
for tool in "$CLANG" "$(command -v "$LD" || true)" "$(command -v "$OBJCOPY" || true)"; do
    if [[ -z "$tool" || ! -x "$tool" ]]; then
        echo "build.sh: missing tool (need clang from the Swift toolchain, GNU ld and objcopy)" >&2
        exit 2
    fi
done

mode=build
case "${1:-}" in
    --check) mode=check ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    "") ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
esac

work="$(mktemp -d "${TMPDIR:-/tmp}/ringside-qemu-stub.XXXXXX")"
trap '[[ -n "${KEEP_WORK:-}" ]] || rm -rf "$work"' EXIT
out="$here/bin"
if [[ $mode == check ]]; then out="$work/bin"; fi
mkdir -p "$out"

export LC_ALL=C
export SOURCE_DATE_EPOCH=0
repo="$(cd ../../.. && pwd)"
# The guest ABI header (the VMM compiles it too) and the stub's own header (Sources/QEMUPeer reads it).
includes=(-I ../../../Sources/CGuestABI/include -I ../../../Sources/CQEMUPeer/include -I "$work")
cflags=(--target=x86_64-unknown-none-elf -ffreestanding -fno-builtin -nostdinc -isystem "$("$CLANG" -print-resource-dir)/include"
        -mno-red-zone -mgeneral-regs-only -fno-stack-protector -fno-pic -fno-asynchronous-unwind-tables -fno-ident
        -ffile-prefix-map="$here"=. -ffile-prefix-map="$repo"=../../.. -O2 -Wall -Werror "${includes[@]}")

# The ABI numbers the assembly needs, from the C header (abi_asm.c says how).
"$CLANG" "${cflags[@]}" -S -o "$work/abi_asm.s" abi_asm.c
sed -n 's/^[[:space:]]*\.ascii[[:space:]]*"->\([A-Z0-9_]*\) \([0-9]*\)"$/#define \1 \2/p' "$work/abi_asm.s" > "$work/abi_asm.h"
[[ $(wc -l < "$work/abi_asm.h") -eq 8 ]] || { echo "build.sh: abi_asm.h did not get its 8 numbers" >&2; exit 1; }

"$CLANG" "${cflags[@]}" -c entry.S -o "$work/entry.o"
"$CLANG" "${cflags[@]}" -c loader.c -o "$work/loader.o"
"$CLANG" "${cflags[@]}" -c image.c -o "$work/image.o"
"$LD" -nostdlib -static --build-id=none -z max-page-size=4096 -z noexecstack -T stub.ld \
    -o "$work/stub.elf" "$work/entry.o" "$work/loader.o" "$work/image.o"
"$OBJCOPY" -O binary --remove-section=.bss "$work/stub.elf" "$out/ringside-qemu-stub.bin"

if [[ $mode == check ]]; then
    if ! cmp -s "$out/ringside-qemu-stub.bin" "$here/bin/ringside-qemu-stub.bin"; then
        echo "build.sh --check: assets/peers/qemu/bin/ringside-qemu-stub.bin is stale or missing" >&2
        echo "  run: bash assets/peers/qemu/build.sh" >&2
        exit 1
    fi
    echo "build.sh --check: the QEMU boot stub is up to date"
else
    printf '%-24s %7d bytes\n' ringside-qemu-stub.bin "$(stat -c %s "$out/ringside-qemu-stub.bin")"
fi

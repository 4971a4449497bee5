# Shared by build.sh and ringside-cc (sourced): finds the compiler and binutils and sets the
# flags every C guest is compiled with.
#   RS_CC, RS_LD, RS_AR   the tools ($CC, $LD, $AR override them)
#   RS_CFLAGS             freestanding x86-64 for CPL 3 with no kernel, the SDK's headers and
#                         the one ABI header (Sources/CGuestABI/include/ringside_abi.h)
#   RS_LIBGCC             gcc's support library when compiling with gcc (empty with clang)

rs_sdk_default_out() {
    echo "${RINGSIDE_SDK_OUT:-${XDG_CACHE_HOME:-$HOME/.cache}/ringside/sdk}"
}

rs_find_toolchain() {
    local sdk repo
    sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    repo="$(cd "$sdk/../../.." && pwd)"
    if [[ -n "${CC:-}" ]]; then
        RS_CC="$(command -v "$CC" || true)"
    elif [[ -x /opt/swift/usr/bin/clang ]]; then
        RS_CC=/opt/swift/usr/bin/clang
    else
        RS_CC="$(command -v clang || command -v gcc || command -v cc || true)"
    fi
    RS_LD="$(command -v "${LD:-ld}" || true)"
    RS_AR="$(command -v "${AR:-ar}" || true)"
    if [[ -z "$RS_CC" || -z "$RS_LD" || -z "$RS_AR" ]]; then
        echo "ringside C SDK: missing a tool (need clang or gcc, and GNU ld and ar: apt-get install binutils clang)" >&2
        exit 2
    fi
    local target=() builtin_include
    if "$RS_CC" --version 2>/dev/null | grep -qi clang; then
        target=(--target=x86_64-unknown-none-elf)
        builtin_include="$("$RS_CC" -print-resource-dir)/include"
        RS_LIBGCC=""
    else
        target=(-m64)
        builtin_include="$("$RS_CC" -print-file-name=include)"
        RS_LIBGCC="$("$RS_CC" -print-libgcc-file-name)"
    fi
    RS_CFLAGS=("${target[@]}" -std=gnu11 -ffreestanding -nostdinc
        -isystem "$sdk/include" -isystem "$builtin_include" -I "$repo/Sources/CGuestABI/include"
        -mno-red-zone -fno-pic -fno-pie -mcmodel=small -fno-stack-protector -fcf-protection=none
        -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-ident -ffunction-sections -fdata-sections
        -ffile-prefix-map="$repo"=.)
    RS_LDSCRIPT="$sdk/link.ld"
}

#!/usr/bin/env bash
# Fetches DOOM's engine and a WAD, hash-pinned, and builds the `doom` guest outside the
# repository (docs/doom.md). Nothing fetched or built here is committed.
#
#   bash assets/guests/doom/fetch-and-build.sh            into $RINGSIDE_DOOM_DIR or ~/.cache/ringside/doom
#   bash assets/guests/doom/fetch-and-build.sh --out DIR  into DIR
#
# Engine: doomgeneric (Chocolate Doom's engine with a small platform interface), from the PyPI
#         source distribution cydoomgeneric 0.1.0 (GPL-2.0-or-later), `pip download` with a
#         required hash. Only its doomgeneric/*.c are compiled, with this directory's platform
#         layer and the C guest SDK (assets/guests/sdk).
# WAD:    Freedoom phase 1 (freedoom1.wad, BSD-style licence) from Debian's `freedoom` package
#         (`apt-get download`, then `dpkg-deb -x`: no engine is installed). Both the .deb and the
#         WAD are checked against their SHA-256.
# Output: DIR/doom.elf, DIR/freedoom1.wad, DIR/LICENSES (where both came from and their terms).
#         `ringside run --guest doom` finds them there.
#
# Needs python3 with pip (python3-pip), apt-get and dpkg-deb, and what the C SDK needs
# (clang or gcc, GNU ld and ar). Network: PyPI and the Debian archive.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sdk="$here/../sdk"

ENGINE_SDIST=cydoomgeneric-0.1.0.tar.gz
ENGINE_REQUIREMENT='cydoomgeneric==0.1.0'
ENGINE_SHA256=b6d59939d06354f8afb61dcb760bf856423b308c7ae0c0f9781fbd174b2b0d72
ENGINE_BYTES=409686
WAD_PACKAGE='freedoom=0.12.1-2'
WAD_DEB=freedoom_0.12.1-2_all.deb
WAD_DEB_SHA256=c5b7cf1aa6dde8c980271981ce75b9b4a9e7b634b9db93d471f54bab7a8e1290
WAD_PATH=usr/share/games/doom/freedoom1.wad
WAD_SHA256=84c3a912f2973892a8025d09d65f5053b1ee2304968a5a172526d683a185b885

out="${RINGSIDE_DOOM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ringside/doom}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) [[ $# -ge 2 ]] || { echo "fetch-and-build.sh: --out needs a directory" >&2; exit 2; }; out="$2"; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "fetch-and-build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for tool in python3 apt-get dpkg-deb sha256sum tar; do
    command -v "$tool" >/dev/null || { echo "fetch-and-build.sh: needs $tool (Debian: apt-get install python3-pip dpkg apt)" >&2; exit 2; }
done
mkdir -p "$out/downloads"
out="$(cd "$out" && pwd)"
downloads="$out/downloads"
start=$(date +%s)

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- the engine --------------------------------------------------------------------------------
if [[ ! -f "$downloads/$ENGINE_SDIST" || "$(sha256_of "$downloads/$ENGINE_SDIST")" != "$ENGINE_SHA256" ]]; then
    echo "== fetching $ENGINE_REQUIREMENT from PyPI (source distribution, hash-pinned)"
    rm -f "$downloads/$ENGINE_SDIST"
    req="$(mktemp)"
    trap 'rm -f "$req"' EXIT
    echo "$ENGINE_REQUIREMENT --hash=sha256:$ENGINE_SHA256" > "$req"
    # --no-binary for this package only: ":all:" would build Cython and numpy from source.
    python3 -m pip download --quiet --no-deps --no-binary cydoomgeneric --require-hashes -r "$req" -d "$downloads"
fi
[[ "$(sha256_of "$downloads/$ENGINE_SDIST")" == "$ENGINE_SHA256" && "$(stat -c %s "$downloads/$ENGINE_SDIST")" == "$ENGINE_BYTES" ]] \
    || { echo "fetch-and-build.sh: $ENGINE_SDIST does not have the pinned SHA-256 and size" >&2; exit 1; }

# --- the WAD -----------------------------------------------------------------------------------
if [[ ! -f "$out/freedoom1.wad" || "$(sha256_of "$out/freedoom1.wad")" != "$WAD_SHA256" ]]; then
    if [[ ! -f "$downloads/$WAD_DEB" || "$(sha256_of "$downloads/$WAD_DEB")" != "$WAD_DEB_SHA256" ]]; then
        echo "== fetching $WAD_PACKAGE from the Debian archive"
        rm -f "$downloads/$WAD_DEB"
        (cd "$downloads" && apt-get download -qq "$WAD_PACKAGE" 2>/dev/null) \
            || { echo "fetch-and-build.sh: apt-get download $WAD_PACKAGE failed (run apt-get update; the package is in Debian 12's main archive)" >&2; exit 1; }
    fi
    [[ "$(sha256_of "$downloads/$WAD_DEB")" == "$WAD_DEB_SHA256" ]] \
        || { echo "fetch-and-build.sh: $WAD_DEB does not have the pinned SHA-256" >&2; exit 1; }
    rm -rf "$out/wad-extract"
    dpkg-deb -x "$downloads/$WAD_DEB" "$out/wad-extract"
    [[ "$(sha256_of "$out/wad-extract/$WAD_PATH")" == "$WAD_SHA256" ]] \
        || { echo "fetch-and-build.sh: $WAD_PATH in $WAD_DEB does not have the pinned SHA-256" >&2; exit 1; }
    mv -f "$out/wad-extract/$WAD_PATH" "$out/freedoom1.wad.tmp"
    mv -f "$out/freedoom1.wad.tmp" "$out/freedoom1.wad"
    cp "$out/wad-extract/usr/share/doc/freedoom/copyright" "$out/freedoom-copyright"
    rm -rf "$out/wad-extract"
fi

# --- build -------------------------------------------------------------------------------------
echo "== building doom.elf with the C guest SDK"
rm -rf "$out/engine" "$out/obj"
mkdir -p "$out/engine" "$out/obj"
tar -xzf "$downloads/$ENGINE_SDIST" -C "$out/engine" --strip-components=1
engine="$out/engine/doomgeneric"
# The engine's sources as its setup.py lists them (the Python binding itself is not used).
mapfile -t sources < <(python3 - "$out/engine/setup.py" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
block = re.search(r"doom_src\s*=\s*\((.*?)\)", text, re.S).group(1)
print("\n".join(re.findall(r'"([\w.]+\.c)"', block)))
PY
)
[[ ${#sources[@]} -gt 50 ]] || { echo "fetch-and-build.sh: could not read the engine's source list from setup.py" >&2; exit 1; }
cc_flags=(-O2 -I "$here/include" -I "$engine" -w)
# Build the SDK once before the parallel compiles.
bash "$sdk/build.sh" --out "$out/sdk" >/dev/null
jobs=$(nproc 2>/dev/null || echo 2)
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} \
    "$sdk/ringside-cc" -c -o "$out/obj/{}.o" "$engine/{}" "${cc_flags[@]}"
platform=("$here"/doom_*.c)
"$sdk/ringside-cc" --sdk-out "$out/sdk" -o "$out/doom.elf.tmp" "$out"/obj/*.o "${platform[@]}" -O2 -I "$here" -I "$engine" -Wall -Werror
mv -f "$out/doom.elf.tmp" "$out/doom.elf"

cat > "$out/LICENSES" <<TXT
doom.elf: doomgeneric from $ENGINE_SDIST (sha256 $ENGINE_SHA256), GPL-2.0-or-later
  (its LICENSE is in engine/LICENSE), with Ringside's platform layer and C guest SDK.
freedoom1.wad: Freedoom phase 1 from Debian's $WAD_DEB (sha256 $WAD_DEB_SHA256),
  wad sha256 $WAD_SHA256; licence in freedoom-copyright.
TXT
echo "doom: $out/doom.elf ($(stat -c %s "$out/doom.elf") bytes), $out/freedoom1.wad ($(stat -c %s "$out/freedoom1.wad") bytes), built in $(( $(date +%s) - start )) s"

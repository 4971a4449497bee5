#!/usr/bin/env bash
# Builds the libFuzzer binaries (Fuzz/, over Sources/FuzzEntries) and runs one target:
#   scripts/fuzz.sh TARGET [RUNS] [libFuzzer flags...]   RUNS defaults to 1000000
#   scripts/fuzz.sh seeds                                 rewrites Tests/FuzzCorpus/*/seed-*
# Targets: migration-decoder destination snapshot-reader rfb-client control-line.
# New inputs go to $FUZZ_WORK/TARGET/corpus (default /tmp/ringside-fuzz), crashes to
# $FUZZ_WORK/TARGET/crashes; Tests/FuzzCorpus/TARGET is read, never written. A crash's input
# belongs in Tests/FuzzCorpus/TARGET/ with its fix (docs/testing.md). FUZZ_SANITIZE picks the
# sanitizers (default fuzzer,address; "fuzzer" alone runs about twice as fast).
set -euo pipefail
cd "$(dirname "$0")/.."
targets="migration-decoder destination snapshot-reader rfb-client control-line"
target=${1:-}
if [[ -z "$target" || ( "$target" != seeds && " $targets " != *" $target "* ) ]]; then
    echo "usage: scripts/fuzz.sh TARGET [RUNS] [libFuzzer flags...] | seeds; targets: $targets" >&2
    exit 2
fi
sanitize=${FUZZ_SANITIZE:-fuzzer,address}
# lld: gold fails on the sanitized Swift objects ("internal error in format_file_lineno").
build=(swift build --package-path Fuzz -c release -Xswiftc "-sanitize=$sanitize" -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)
"${build[@]}" >&2
bin=$("${build[@]}" --show-bin-path)
if [[ "$target" == seeds ]]; then
    for t in $targets; do
        rm -f "Tests/FuzzCorpus/$t"/seed-*
        RINGSIDE_FUZZ_SEEDS_TO="Tests/FuzzCorpus/$t" "$bin/fuzz-$t"
    done
    exit 0
fi
runs=${2:-1000000}
work=${FUZZ_WORK:-/tmp/ringside-fuzz}/$target
mkdir -p "$work/corpus" "$work/crashes"
exec "$bin/fuzz-$target" "$work/corpus" "Tests/FuzzCorpus/$target" -runs="$runs" -rss_limit_mb=2048 -timeout=5 \
    -artifact_prefix="$work/crashes/" -print_final_stats=1 "${@:3}"

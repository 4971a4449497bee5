#!/usr/bin/env bash
# Images built for older guest ABI versions, which the compatibility tests boot
# (Tests/MachineTests/ABIVersionTests.swift). Each is rebuilt from the commit that last built
# it, so it is exactly what a user of that version had:
#   pattern-abi1.elf  `pattern` at 07db3b6, a commit of ABI version 1 (no note; its runtime checks version == 1)
#   pattern-abi2.elf  `pattern` at d90fc24, the last main commit of ABI version 2 (no note; its runtime checks version == 2)
#
#   bash assets/guests/compat/build.sh           rebuild them into assets/guests/compat/
#   bash assets/guests/compat/build.sh --check   rebuild into a temp dir; fail naming every image that differs
#
# Needs the repository's history (not a shallow clone) and what ../build.sh needs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
mode=build
case "${1:-}" in
    --check) mode=check ;;
    "") ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "compat/build.sh: unknown option $1" >&2; exit 2 ;;
esac

images=("pattern-abi1.elf 07db3b6 pattern" "pattern-abi2.elf d90fc24 pattern")
work="$(mktemp -d "${TMPDIR:-/tmp}/ringside-compat.XXXXXX")"
trap 'rm -rf "$work"' EXIT
stale=()
for entry in "${images[@]}"; do
    read -r file commit guest <<<"$entry"
    if ! git -C "$repo" cat-file -e "$commit^{commit}" 2>/dev/null; then
        echo "compat/build.sh: commit $commit is not in this clone (a shallow clone?): fetch the history first" >&2
        exit 2
    fi
    tree="$work/$commit"
    mkdir -p "$tree"
    git -C "$repo" archive "$commit" assets/guests Sources/CGuestABI | tar -x -C "$tree"
    bash "$tree/assets/guests/build.sh" --out "$work/out-$commit" "$guest" >/dev/null
    if [[ $mode == check ]]; then
        cmp -s "$work/out-$commit/$guest.elf" "$here/$file" || stale+=("$file")
    else
        cp "$work/out-$commit/$guest.elf" "$here/$file"
        printf '%-18s %7d bytes (from %s)\n' "$file" "$(stat -c %s "$here/$file")" "$commit"
    fi
done
if [[ $mode == check ]]; then
    if [[ ${#stale[@]} -gt 0 ]]; then
        echo "compat/build.sh --check: images that differ from their commits' builds: ${stale[*]}" >&2
        exit 1
    fi
    echo "compat/build.sh --check: ${#images[@]} compatibility images match their commits"
fi

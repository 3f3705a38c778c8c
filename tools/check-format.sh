#!/usr/bin/env bash
# Checks that every tracked C++ file under src/, include/, tests/ and tools/ is formatted as
# .clang-format says (clang-format 14, Debian 12's), and lists the ones that are not.
#   tools/check-format.sh          check; exit status 1 if any file is unformatted
#   tools/check-format.sh --fix    reformat those files in place
#   tools/check-format.sh [--fix] FILE...   the same, for the files given
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
if [ "${1:-}" = "--fix" ]; then
    fix=1
    shift
fi

clang_format="${CLANG_FORMAT:-}"
if [ -z "$clang_format" ]; then
    for candidate in clang-format-14 clang-format; do
        if command -v "$candidate" >/dev/null; then
            clang_format="$candidate"
            break
        fi
    done
fi
if [ -z "$clang_format" ]; then
    echo "check-format: clang-format not found (tools/install-deps.sh installs it)" >&2
    exit 2
fi

files=()
if [ $# -gt 0 ]; then
    files=("$@")
else
    while IFS= read -r -d '' f; do
        files+=("$f")
    done < <(git ls-files -z -- 'src/*.cc' 'src/*.h' 'include/*.h' 'tests/*.cc' 'tests/*.h' \
                                'tools/*.cc' 'tools/*.h')
fi
if [ ${#files[@]} -eq 0 ]; then
    echo "check-format: no C++ files" >&2
    exit 0
fi

if [ "$fix" -eq 1 ]; then
    "$clang_format" -i --style=file "${files[@]}"
    echo "check-format: formatted ${#files[@]} files with $("$clang_format" --version)"
    exit 0
fi

offenders=()
for f in "${files[@]}"; do
    if ! "$clang_format" --dry-run --Werror --style=file "$f" >/dev/null 2>&1; then
        offenders+=("$f")
    fi
done
if [ ${#offenders[@]} -ne 0 ]; then
    echo "check-format: ${#offenders[@]} of ${#files[@]} files are not formatted as .clang-format says:" >&2
    printf '  %s\n' "${offenders[@]}" >&2
    echo "check-format: run tools/check-format.sh --fix (or clang-format -i FILE) and commit" >&2
    exit 1
fi
echo "check-format: ${#files[@]} files formatted"

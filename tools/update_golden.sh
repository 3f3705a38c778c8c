#!/usr/bin/env bash
# Regenerates tests/golden/<name>.jsonl for every case in tests/golden/cases.txt with the built
# binary (default build/src/vxcheck). Review `git diff tests/golden` before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/src/vxcheck}
[ -x "$bin" ] || { echo "update_golden: $bin not built" >&2; exit 2; }
while read -r name args; do
    case "$name" in ''|'#'*) continue ;; esac
    name=${name%:}
    # shellcheck disable=SC2086
    "$bin" $args > "tests/golden/$name.jsonl" 2>/dev/null || true
    echo "tests/golden/$name.jsonl: $(wc -l < "tests/golden/$name.jsonl") lines"
done < tests/golden/cases.txt

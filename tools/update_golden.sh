#!/usr/bin/env bash
# Regenerates tests/golden/<name>.jsonl (cases with --json) or <name>.txt (text reports) for every case in tests/golden/cases.txt with the built
# binary (default build/src/vxcheck). Review `git diff tests/golden` before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/src/vxcheck}
[ -x "$bin" ] || { echo "update_golden: $bin not built" >&2; exit 2; }
while read -r name args; do
    case "$name" in ''|'#'*) continue ;; esac
    name=${name%:}
    case " $args " in *" --json "*) out="tests/golden/$name.jsonl" ;; *) out="tests/golden/$name.txt" ;; esac
    # shellcheck disable=SC2086
    "$bin" $args > "$out" 2>/dev/null || true
    echo "$out: $(wc -l < "$out") lines"
done < tests/golden/cases.txt

#!/usr/bin/env bash
# Checks the module dependency rules of docs/DEVELOPING.md: a module's headers
# (include/vxcheck/<module>/) and sources (src/<module>/) include only the vxcheck modules below
# it, and nothing reaches into another module's private files by a relative path.
# Exit 0 when every include is allowed; 1 with one line per offending include.
set -euo pipefail
cd "$(dirname "$0")/.."

# module: the modules it may include (besides itself and the base headers bytes.h, frame.h, wire.h)
declare -A allowed=(
    [decode]=""
    [verify]="decode"
    [track]="decode"
    [capture]=""
    [rpc]=""
    [analyze]="decode verify track rpc"
    [fastpath]="decode verify track analyze"
    [report]="decode verify track analyze"
    [app]="decode verify track analyze fastpath report capture"
)

status=0
for module in "${!allowed[@]}"; do
    ok=" $module ${allowed[$module]} "
    for dir in "include/vxcheck/$module" "src/$module"; do
        [ -d "$dir" ] || continue
        while IFS=: read -r file line text; do
            target=$(sed -E 's|.*#include "vxcheck/([a-z_]+)/.*|\1|' <<<"$text")
            if [[ "$ok" != *" $target "* ]]; then
                echo "$file:$line: $module may not include vxcheck/$target ($text)"
                status=1
            fi
        done < <(grep -rnE '#include "vxcheck/[a-z_]+/' "$dir" || true)
        while IFS= read -r hit; do
            echo "$hit: relative include into another directory"
            status=1
        done < <(grep -rnE '#include "\.\./' "$dir" || true)
    done
done
if [ "$status" -eq 0 ]; then
    echo "check-deps: every include follows the module rules"
fi
exit "$status"

#!/usr/bin/env bash
# The static checks of `npm test`. ESLint (type-aware) and tsc each build a TypeScript program on one
# core; on a 2-core machine they run side by side. Every check runs even when another fails, and
# the script fails when any did.
set -uo pipefail
cd "$(dirname "$0")/.."

npm run -s lint &
lint=$!
npm run -s typecheck &
typecheck=$!
status=0
npm run -s format:check || status=1
npm run -s deps || status=1
wait "$lint" || { echo 'checks: lint failed' >&2; status=1; }
wait "$typecheck" || { echo 'checks: typecheck failed' >&2; status=1; }
exit "$status"

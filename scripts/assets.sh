#!/bin/sh
# Front-end assets come from the npm registry (package.json + package-lock.json) and are
# copied into the static folder. Without npm the app still runs: every page works without
# JavaScript, only slower.
set -e
cd "$(dirname "$0")/.."
[ -f package.json ] || exit 0
if ! command -v npm >/dev/null 2>&1; then
    echo "note: npm not found; front-end assets (htmx, Sortable, Mermaid, Swagger UI, axe-core) skipped. Pages work without JavaScript." >&2
    exit 0
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    # --ignore-scripts: no package needs one (swagger-ui-dist's @scarf/scarf would phone home)
    npm ci --silent --no-audit --no-fund --ignore-scripts
fi
mkdir -p platform/karte/static/vendor
cp node_modules/htmx.org/dist/htmx.min.js platform/karte/static/vendor/
cp node_modules/sortablejs/Sortable.min.js platform/karte/static/vendor/
cp node_modules/mermaid/dist/mermaid.min.js platform/karte/static/vendor/
# Swagger UI for /api/docs (karte.api.docs_page)
mkdir -p platform/karte/static/vendor/swagger-ui
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
   platform/karte/static/vendor/swagger-ui/
# axe-core (a devDependency) stays in node_modules: only the e2e suite uses it
# (tests/e2e/test_axe.py reads node_modules/axe-core/axe.min.js; KARTE_AXE overrides).
[ -f node_modules/axe-core/axe.min.js ] || echo "note: axe-core missing from node_modules; tests/e2e/test_axe.py will skip" >&2

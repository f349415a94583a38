#!/usr/bin/env bash
# Refreshes the front-end libraries embedded in palisade-server from the versions pinned in
# crates/palisade-server/ui/package.json (edit the versions there, then run this). Building
# and running palisade never needs Node.js; this script and the browser test do.
set -euo pipefail
cd "$(dirname "$0")/../crates/palisade-server"
(cd ui && npm install --no-audit --no-fund && npm ci --no-audit --no-fund)
strip() { grep -v '^//# sourceMappingURL=' "$1"; }
strip ui/node_modules/cytoscape/dist/cytoscape.min.js > assets/vendor/cytoscape.min.js
strip ui/node_modules/cytoscape-dagre/dist/cytoscape-dagre.min.js > assets/vendor/cytoscape-dagre.min.js
cp ui/node_modules/cytoscape/LICENSE assets/vendor/LICENSE.cytoscape
cp ui/node_modules/cytoscape-dagre/LICENSE assets/vendor/LICENSE.cytoscape-dagre
echo "updated assets/vendor; record the new versions in assets/vendor/README.md"

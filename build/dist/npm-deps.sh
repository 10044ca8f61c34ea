#!/usr/bin/env bash
# Fetches from the npm registry, as tarballs in build/out/npm-deps/, the
# runtime dependencies of the lakelink npm package on linux-x64 at the
# versions bindings/node/package-lock.json pins (koffi and its
# @koromix/koffi-linux-x64 prebuilt), so that build/dist/tests/test_npm.py
# installs lakelink's tarballs into an empty project with `npm install
# --offline` and an empty cache, as from a registry that holds them.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=build/out/npm-deps
specs=$(node -e '
const lock = require("./bindings/node/package-lock.json").packages
for (const name of ["koffi", "@koromix/koffi-linux-x64"]) {
  const entry = lock["node_modules/" + name]
  if (!entry) throw new Error(`bindings/node/package-lock.json has no ${name}`)
  console.log(`${name}@${entry.version}`)
}')
rm -rf "$dest"
mkdir -p "$dest"
echo "==> Fetching $(echo $specs) into $dest"
# shellcheck disable=SC2086
(cd "$dest" && npm pack --silent $specs >/dev/null)

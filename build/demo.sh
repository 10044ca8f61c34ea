#!/usr/bin/env bash
# The main job, against the local emulator, through lakelink's own CLI, its
# Go API and the Python and Node bindings: a service principal (M2M) and a user with
# custom scopes (U2M) call a Databricks App's /api/ routes, a failing call is
# diagnosed, and SQL runs on Lakebase with a credential lakelink mints.
#
# Usage: build/demo.sh path/to/lakelink
set -euo pipefail
lakelink=${1:-build/out/lakelink}

state=$(mktemp -d)
log=$state/emulator.log
"$lakelink" emulator --state-dir "$state" >"$log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null; wait $emulator 2>/dev/null; rm -rf "$state"' EXIT

echo "==> Starting the emulator (lakelink emulator --state-dir $state)"
for _ in $(seq 600); do
	[[ -f $state/emulator.json ]] && break
	kill -0 $emulator 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.1
done
[[ -f $state/emulator.json ]] || { echo "the emulator did not become ready in 60s" >&2; cat "$log"; exit 1; }

# field PATH: one value of emulator.json, e.g. field lakebase.port
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$state/emulator.json" "$1"; }

host=$(field workspace_url)
app=$(field app_url)
sp="Host=$host;OAuthClientId=$(field service_principal.client_id);OAuthClientSecret=$(field service_principal.client_secret)"
outsider="Host=$host;OAuthClientId=$(field outsider.client_id);OAuthClientSecret=$(field outsider.client_secret)"
lakebase="Server=$(field lakebase.host);Port=$(field lakebase.port);Instance=$(field lakebase.instance);SSLMode=verify-full;SSLServerCert=$(field lakebase.ca_file)"
# The user login's tokens go to a throwaway config directory, and the
# "browser" follows the emulator's sign-in redirect to lakelink's callback.
export XDG_CONFIG_HOME=$state/config BROWSER="curl -s -L -o /dev/null"
echo "    workspace $host, app $app, Lakebase $(field lakebase.host):$(field lakebase.port)"

echo
echo "==> 1. A service principal's token (M2M): LAKELINK_CONNECTION='Host=...;OAuthClientId=...;OAuthClientSecret=...' lakelink token --json"
echo "    (secrets go in LAKELINK_CONNECTION or --connection-file, never in arguments others can read)"
LAKELINK_CONNECTION="$sp" "$lakelink" token --json | python3 -c 'import json,sys; t=json.load(sys.stdin)
print("    principal %s, scopes %s, expires at %s (the token itself: %d characters)" % (t["principal"], " ".join(t["scopes"]), t["expires_at"], len(t["access_token"])))'

echo
echo "==> 2. The app's /api/whoami with it: lakelink call $app/api/whoami"
LAKELINK_CONNECTION="$sp" "$lakelink" call "$app/api/whoami"

echo
echo "==> 3. A user login with custom scopes (U2M, PKCE): lakelink login --host $host --scopes sql,dashboards.genie"
"$lakelink" login --host "$host" --scopes sql,dashboards.genie 2>/dev/null
echo "    then the route that needs dashboards.genie: lakelink call --host ... --scopes sql,dashboards.genie $app/api/genie"
"$lakelink" call --host "$host" --scopes sql,dashboards.genie "$app/api/genie"

echo
echo "==> 4. A principal without CAN USE on the app: lakelink says why and what to check"
LAKELINK_CONNECTION="$outsider" "$lakelink" call "$app/api/whoami" 2>&1 | sed 's/^/    /' || true

echo
echo "==> 5. The same from Go: auth.NewTokenSource and apps.New (build/demo/apps.go)"
go run build/demo/apps.go "$state/emulator.json"

echo
echo "==> 6. SQL on Lakebase with a credential lakelink mints: LAKELINK_CONNECTION='...;Instance=...' lakelink sql \"SELECT ...\""
LAKELINK_CONNECTION="$sp;$lakebase" "$lakelink" sql "SELECT current_user AS principal, current_database() AS database, 6 * 7 AS answer"

echo
echo "==> 7. The same from Python: the lakelink package (bindings/python, build/demo/demo.py)"
PYTHONPATH=bindings/python LAKELINK_LIBRARY=build/out/liblakelink.so PYTHONDONTWRITEBYTECODE=1 \
	python3 build/demo/demo.py "$state/emulator.json"

echo
echo "==> 8. The same from Node: require('lakelink') (bindings/node, build/demo/demo.js)"
if [[ ! -d bindings/node/node_modules/koffi ]]; then
	bindings/node/scripts/ensure-node.sh
	(cd bindings/node && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
fi
UV_THREADPOOL_SIZE=64 LAKELINK_LIBRARY=build/out/liblakelink.so node build/demo/demo.js "$state/emulator.json"

echo
echo "==> Demo done. Run the emulator yourself with: $lakelink emulator"

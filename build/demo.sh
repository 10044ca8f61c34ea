#!/usr/bin/env bash
# The main job, against the local emulator: a service principal gets an
# OAuth token (M2M), calls a Databricks App's /api/ route with it, mints a
# Lakebase credential and runs SQL through the Lakebase gateway over TLS.
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
# json_field PATH: one value of the JSON document on stdin
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

host=$(field workspace_url)
app=$(field app_url)
client_id=$(field service_principal.client_id)
client_secret=$(field service_principal.client_secret)
echo "    workspace $host, app $app, Lakebase $(field lakebase.host):$(field lakebase.port)"

echo
echo "==> 1. M2M: the service principal gets an OAuth token (client_credentials, HTTP Basic)"
token=$(curl -sf -u "$client_id:$client_secret" -d grant_type=client_credentials -d scope=all-apis \
	"$host/oidc/v1/token" | json_field access_token)
echo "    got a bearer token of ${#token} characters"

echo
echo "==> 2. The app's /api/whoami, called with that token"
curl -sf -H "Authorization: Bearer $token" "$app/api/whoami"

echo
echo "==> 3. A Lakebase credential for instance $(field lakebase.instance) (POST /api/2.0/database/credentials)"
credential=$(curl -sf -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
	-d "{\"instance_names\": [\"$(field lakebase.instance)\"], \"request_id\": \"demo\"}" \
	"$host/api/2.0/database/credentials")
echo "    expires at $(json_field expiration_time <<<"$credential")"

echo
echo "==> 4. SQL through the Lakebase gateway, TLS verified against the emulator's CA"
PGPASSWORD=$(json_field token <<<"$credential") psql -X \
	"host=$(field lakebase.host) port=$(field lakebase.port) dbname=$(field lakebase.database) user=$client_id sslmode=verify-full sslrootcert=$(field lakebase.ca_file)" \
	-c "SELECT current_user AS principal, current_database() AS database, 6 * 7 AS answer"

echo "==> Demo done. Run the emulator yourself with: $lakelink emulator"

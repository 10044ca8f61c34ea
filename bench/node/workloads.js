'use strict';
// The Node workloads of `make bench`, one run per process, as
// bench/workloads.py is for Python:
//
//   LAKELINK_BENCH_CONFIG='{...}' node bench/node/workloads.js WORKLOAD IMPL
//
// IMPL is "lakelink" (bindings/node: connect, App) or the peer ("pg", or
// "fetch" for the app workload). Prints {"seconds": ..., "check": ...}.

const path = require('node:path');

const FETCH_SQL = (n) =>
  'SELECT g::int8, (g * 0.37)::float8, md5(g::text), ' +
  "timestamptz '2024-01-01 00:00:00+00' + g * interval '1.234567 second', (g * 1.25)::numeric(12,2) " +
  `FROM generate_series(1, ${n}) AS g`;

function lakelink() {
  return require(path.join(__dirname, '..', '..', 'bindings', 'node'));
}

// connect returns {query(sql, params) -> rows as arrays, close()} for impl.
async function connect(impl, cfg) {
  if (impl === 'lakelink') {
    const conn = await lakelink().connect(cfg.lakelink_pg);
    return {
      query: async (sql, params) => (await conn.query({ text: sql, values: params, rowMode: 'array' })).rows,
      close: () => conn.close(),
    };
  }
  const { Client } = require('pg');
  const client = new Client({ connectionString: cfg.pg_url });
  await client.connect();
  return {
    query: async (sql, params) => (await client.query({ text: sql, values: params, rowMode: 'array' })).rows,
    close: () => client.end(),
  };
}

// cell reads column i of a row, whether rows are arrays or objects.
function cell(row, i) {
  return Array.isArray(row) ? row[i] : Object.values(row)[i];
}

const workloads = {
  async fetch(impl, cfg) {
    const c = await connect(impl, cfg);
    const t = process.hrtime.bigint();
    const rows = await c.query(FETCH_SQL(cfg.rows), []);
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    const last = rows[rows.length - 1];
    await c.close();
    return { seconds: s, check: [rows.length, String(cell(last, 0)), String(cell(last, 4))] };
  },

  async roundtrips(impl, cfg) {
    const c = await connect(impl, cfg);
    await c.query('SELECT 1', []);
    let total = 0;
    const t = process.hrtime.bigint();
    for (let i = 0; i < cfg.n; i++) {
      const rows = await c.query('SELECT $1', [i]);
      total += Number(cell(rows[0], 0));
    }
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    await c.close();
    return { seconds: s, check: total };
  },

  async echo(impl, cfg) {
    let get;
    if (impl === 'lakelink') {
      const app = new (lakelink().App)(cfg.app_url, { connectionString: cfg.sp });
      get = () => app.fetch('/api/echo');
    } else {
      const headers = { Authorization: 'Bearer ' + cfg.token };
      get = () => fetch(cfg.app_url + '/api/echo', { headers });
    }
    await (await get()).json();
    let ok = 0;
    let last;
    const t = process.hrtime.bigint();
    for (let i = 0; i < cfg.n; i++) {
      const r = await get();
      last = await r.text();
      if (r.status === 200) ok++;
    }
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    return { seconds: s, check: [ok, JSON.parse(last).path] };
  },
};

async function main() {
  const [name, impl] = process.argv.slice(2);
  const cfg = JSON.parse(process.env.LAKELINK_BENCH_CONFIG);
  const out = await workloads[name](impl, cfg);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});

'use strict';
// The Node workloads of `make bench`, one run per process, as
// bench/workloads.py is for Python:
//
//   LAKELINK_BENCH_CONFIG='{...}' node bench/node/workloads.js WORKLOAD IMPL
//
// IMPL is "lakelink" (bindings/node: Client, Pool, App; for "pgconfig", pg
// over lakelink's pgConfig) or the peer ("pg" or "postgres" (Postgres.js),
// or "fetch" for the app workload); for "pool", "as_user" (pool.asUser) or
// "app" (the pool's own sessions). Prints {"seconds": ..., "check": ...}.

const path = require('node:path');

const FETCH_SQL = (n) =>
  'SELECT g::int8, (g * 0.37)::float8, md5(g::text), ' +
  "timestamptz '2024-01-01 00:00:00+00' + g * interval '1.234567 second', (g * 1.25)::numeric(12,2) " +
  `FROM generate_series(1, ${n}) AS g`;

function lakelink() {
  return require(path.join(__dirname, '..', '..', 'bindings', 'node'));
}

// connect returns {query(sql, params) -> rows as arrays, close()} for impl:
// one session, a Client of lakelink or pg, or Postgres.js with max: 1
// (its statements prepared, as its tagged templates are by default).
async function connect(impl, cfg) {
  if (impl === 'postgres') {
    const sql = require('postgres')(cfg.pg_url, { max: 1 });
    return {
      query: (text, params) => sql.unsafe(text, params, { prepare: true }).values(),
      close: () => sql.end(),
    };
  }
  const client = impl === 'lakelink'
    ? new (lakelink().Client)(cfg.lakelink_pg)
    : new (require('pg').Client)({ connectionString: cfg.pg_url });
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
  // COPY cfg.rows three-column rows in (text format, written in chunks of
  // 1,000 rows), as the bench's Python copy-in: lakelink's copyFrom against
  // pg with pg-copy-streams.
  async 'copy-in'(impl, cfg) {
    let client;
    let into;
    if (impl === 'lakelink') {
      client = new (lakelink().Client)(cfg.lakelink_pg);
      await client.connect();
    } else {
      client = new (require('pg').Client)({ connectionString: cfg.pg_url });
      await client.connect();
    }
    const t = `bench_copyin_node_${impl}_${process.pid}`;
    await client.query(`DROP TABLE IF EXISTS ${t}`);
    await client.query(`CREATE TABLE ${t} (id int8, name text, score float8)`);
    const { Readable } = require('stream');
    const { pipeline } = require('stream/promises');
    const chunks = function* () {
      for (let i = 0; i < cfg.rows; i += 1000) {
        let s = '';
        for (let j = i; j < Math.min(i + 1000, cfg.rows); j++) s += `${j}\tname ${j}\t${j * 0.5}\n`;
        yield s;
      }
    };
    const start = process.hrtime.bigint();
    const sql = `COPY ${t} (id, name, score) FROM STDIN`;
    into = impl === 'lakelink' ? client.copyFrom(sql) : client.query(require('pg-copy-streams').from(sql));
    await pipeline(Readable.from(chunks()), into);
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    const r = await client.query(`SELECT count(*)::text AS n, sum(id)::text AS s, max(name) AS m FROM ${t}`);
    await client.query(`DROP TABLE ${t}`);
    await client.end();
    const row = r.rows[0];
    return { seconds: s, check: [row.n, row.s, row.m] };
  },

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

  // cfg.n single-row SELECT $1 through a pool of the App's service principal
  // on the Lakebase gateway: as the App user whose forwarded token
  // cfg.app_user_token is (pool.asUser(token).query) or on the pool's own
  // sessions (pool.query); the rest is the same. A first query before the
  // clock starts warms the pool (as the user: verifies the token, logs in).
  async pool(impl, cfg) {
    const pool = new (lakelink().Pool)(cfg.gateway);
    const q = impl === 'as_user' ? pool.asUser(cfg.app_user_token) : pool;
    const who = (await q.query('SELECT current_user AS who')).rows[0].who;
    let total = 0;
    const t = process.hrtime.bigint();
    for (let i = 0; i < cfg.n; i++) {
      const { rows } = await q.query('SELECT $1', [i]);
      total += Number(cell(rows[0], 0));
    }
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    await pool.end();
    // Each side acted as whom it should: the user on the user's sessions, the App on its own.
    const right = impl === 'as_user' ? who === cfg.app_user_email : who !== cfg.app_user_email;
    return { seconds: s, check: [total, right] };
  },

  // cfg.n single-row SELECT $1 through a pg.Pool of 10 on the Lakebase
  // gateway (verify-full), 10 at a time: its config from lakelink's
  // pgConfig (password an async function, lakelink's credential), or the
  // same login written by hand with a static password, a credential minted
  // beforehand (cfg.login). The pool's 10 sessions log in before the clock
  // starts: what is measured is the pool after login, where the password
  // function must cost nothing.
  async pgconfig(impl, cfg) {
    const pg = require('pg');
    const login = cfg.login;
    const config = impl === 'lakelink'
      ? await lakelink().pgConfig(cfg.gateway)
      : { host: login.host, port: login.port, database: login.database, user: login.user, password: login.password,
          ssl: { ca: require('node:fs').readFileSync(login.ca_file, 'utf8') } };
    const pool = new pg.Pool({ ...config, max: 10 });
    const who = (await Promise.all(Array.from({ length: 10 }, () => pool.query('SELECT current_user AS who, pg_sleep(0.05)'))))[0].rows[0].who;
    let total = 0;
    let next = 0;
    const worker = async () => {
      while (next < cfg.n) {
        const i = next++;
        const { rows } = await pool.query({ text: 'SELECT $1::int', values: [i], rowMode: 'array' });
        total += rows[0][0];
      }
    };
    const t = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 10 }, worker));
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    const sessions = pool.totalCount;
    await pool.end();
    return { seconds: s, check: [total, who === login.user, sessions] };
  },

  // cfg.n single-row SELECT $1::int, 100 at a time, on a pool of 10
  // sessions of the PostgreSQL user (AuthScheme=Password, as the other
  // query workloads): lakelink's Pool, pg.Pool or Postgres.js (max: 10),
  // each through its pool's own query. The 10 sessions log in before the
  // clock starts.
  async pool100(impl, cfg) {
    let query;
    let end;
    if (impl === 'postgres') {
      const sql = require('postgres')(cfg.pg_url, { max: 10 });
      query = (text, values) => sql.unsafe(text, values, { prepare: true }).values();
      end = () => sql.end();
    } else {
      const pool = impl === 'lakelink'
        ? new (lakelink().Pool)(cfg.lakelink_pg, { max: 10 })
        : new (require('pg').Pool)({ connectionString: cfg.pg_url, max: 10 });
      query = async (text, values) => (await pool.query({ text, values, rowMode: 'array' })).rows;
      end = () => pool.end();
    }
    const pids = await Promise.all(Array.from({ length: 10 }, () => query('SELECT pg_backend_pid(), pg_sleep(0.05)', [])));
    let total = 0;
    let next = 0;
    const worker = async () => {
      while (next < cfg.n) {
        const i = next++;
        const rows = await query('SELECT $1::int', [i]);
        total += Number(rows[0][0]);
      }
    };
    const t = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 100 }, worker));
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    await end();
    return { seconds: s, check: [total, new Set(pids.map((r) => r[0][0])).size] };
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

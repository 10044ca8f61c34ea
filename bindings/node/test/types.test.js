'use strict'
// Every type of TYPES.md's table, both ways (TYPES.md's "Node" column).
const lakelink = require('..')
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')
const { emulator, lakebase } = require('./helpers')

let conn
before(async () => { conn = await lakelink.connect(lakebase(await emulator())) })
after(() => conn.close())

const one = async (sql, values) => {
  const r = await conn.query(sql, values)
  assert.equal(r.rows.length, 1)
  return { v: r.rows[0].v, oid: r.fields[0].dataTypeID }
}

const CASES = [
  // [value sent, cast, expected back, type oid]
  [true, 'bool', true, 16],
  [false, 'bool', false, 16],
  [-7, 'int2', -7, 21],
  [2147483647, 'int4', 2147483647, 23],
  [9223372036854775807n, 'int8', 9223372036854775807n, 20],
  [-9223372036854775808n, 'int8', -9223372036854775808n, 20],
  [42, 'int8', 42n, 20],
  [0.1, 'float4', 0.1, 700],
  [1.5, 'float8', 1.5, 701],
  [NaN, 'float8', NaN, 701],
  [-Infinity, 'float8', -Infinity, 701],
  [-0, 'float8', 0, 701], // an integer number is sent as int64: -0 loses its sign
  ['1234567890123456789012345678901234567890.123', 'numeric', '1234567890123456789012345678901234567890.123', 1700],
  ['1.50', 'numeric', '1.50', 1700],
  [10n ** 30n, 'numeric', '1000000000000000000000000000000', 1700],
  ['NaN', 'numeric', 'NaN', 1700],
  ["héllo, 'world'; --", 'text', "héllo, 'world'; --", 25],
  ['', 'text', '', 25],
  ['v', 'varchar', 'v', 1043],
  ['x', 'char(3)', 'x  ', 1042],
  ['nm', 'name', 'nm', 19],
  [Buffer.from([0, 1, 255, 98]), 'bytea', Buffer.from([0, 1, 255, 98]), 17],
  [new Uint8Array([7, 0]), 'bytea', Buffer.from([7, 0]), 17],
  ['2024-02-29', 'date', new Date(Date.UTC(2024, 1, 29)), 1082],
  ['0044-03-15 BC', 'date', new Date(Date.UTC(-43, 2, 15)), 1082],
  ['infinity', 'date', Infinity, 1082],
  ['-infinity', 'date', -Infinity, 1082],
  ['12:34:56.789', 'time', '12:34:56.789', 1083],
  ['24:00:00', 'time', '24:00:00', 1083],
  ['00:00:00.000001', 'time', '00:00:00.000001', 1083],
  ['2020-01-02 03:04:05.678901', 'timestamp', new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 678)), 1114],
  ['infinity', 'timestamp', Infinity, 1114],
  [new Date(Date.UTC(2020, 0, 2, 1, 4, 5, 6)), 'timestamptz', new Date(Date.UTC(2020, 0, 2, 1, 4, 5, 6)), 1184],
  ['1500-06-01 00:00:00.0005+00', 'timestamptz', new Date(Date.UTC(1500, 5, 1)), 1184], // far from 2000: the BigInt path
  ['1999-12-31 23:59:59.9995+00', 'timestamptz', new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)), 1184], // rounds down
  ['-infinity', 'timestamptz', -Infinity, 1184],
  ['1 mon 2 days 3 microseconds', 'interval', { months: 1, days: 2, microseconds: 3 }, 1186],
  ['-1 day 00:00:05', 'interval', { months: 0, days: -1, microseconds: 5000000 }, 1186],
  ['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 2950],
  [{ a: [1, 2, { b: null }], s: 'x' }, 'jsonb', { a: [1, 2, { b: null }], s: 'x' }, 3802],
  [{ k: 'v' }, 'json', { k: 'v' }, 114],
  ['[1, "two", null]', 'jsonb', [1, 'two', null], 3802],
  ['null', 'jsonb', null, 3802],
  [[1, 2, null, 4], 'int4[]', [1, 2, null, 4], 1007],
  [[['a', 'b'], ['c', null]], 'text[]', [['a', 'b'], ['c', null]], 1009],
  [[], 'int4[]', [], 1007],
  [[true, null], 'bool[]', [true, null], 1000],
  [[1n, 9223372036854775807n], 'int8[]', [1n, 9223372036854775807n], 1016],
  [[0.5, NaN, Infinity], 'float8[]', [0.5, NaN, Infinity], 1022],
  [['1.10'], 'numeric[]', ['1.10'], 1231],
  [[Buffer.from('hi')], 'bytea[]', [Buffer.from('hi')], 1001],
  [['2020-01-01', 'infinity'], 'date[]', [new Date(Date.UTC(2020, 0, 1)), Infinity], 1182],
  [['01:02:03'], 'time[]', ['01:02:03'], 1183],
  [['2020-01-02 03:04:05'], 'timestamp[]', [new Date(Date.UTC(2020, 0, 2, 3, 4, 5))], 1115],
  [[new Date(Date.UTC(2021, 5, 6))], 'timestamptz[]', [new Date(Date.UTC(2021, 5, 6))], 1185],
  [[['1 day'], ['2 mons']], 'interval[][]', [[{ months: 0, days: 1, microseconds: 0 }], [{ months: 2, days: 0, microseconds: 0 }]], 1187],
  [['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'], 'uuid[]', ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'], 2951],
  [[{ a: 1 }, null, '[2]'], 'jsonb[]', [{ a: 1 }, null, [2]], 3807],
  [null, 'int4', null, 23],
  [undefined, 'text', null, 25],
  [null, 'jsonb', null, 3802]
]

for (const [value, cast, expected, oid] of CASES) {
  test(`${cast}: ${require("node:util").inspect(value)}`, async () => {
    const { v, oid: got } = await one(`SELECT $1::${cast} AS v`, [value])
    assert.equal(got, oid)
    assert.deepEqual(v, expected)
  })
}

test('server literals to JavaScript', async () => {
  const r = await conn.query({
    text: "SELECT '-0'::float8, 'infinity'::float8, NULL::uuid, '[]'::jsonb, ARRAY[]::int[], '10.0.0.1'::inet, " +
      "'{{1,2},{3,4}}'::int[], ARRAY[NULL]::text[], 'x'::text = 'x', current_date, 'a'::\"char\", 1::oid",
    rowMode: 'array'
  })
  const row = r.rows[0]
  assert.ok(Object.is(row[0], -0))
  assert.equal(row[1], Infinity)
  assert.equal(row[2], null)
  assert.deepEqual(row[3], [])
  assert.deepEqual(row[4], [])
  assert.equal(row[5], '10.0.0.1') // as PostgreSQL prints it (TYPES.md)
  assert.deepEqual(row[6], [[1, 2], [3, 4]])
  assert.deepEqual(row[7], [null])
  assert.equal(row[8], true)
  assert.ok(row[9] instanceof Date && row[9].getUTCHours() === 0)
  assert.equal(row[10], 'a')
  assert.equal(typeof row[11], 'string')
})

test('a JS Date is an instant: timestamptz keeps it', async () => {
  const d = new Date('2024-05-06T07:08:09.123Z')
  assert.deepEqual((await one('SELECT $1::timestamptz AS v', [d])).v, d)
})

test('an untyped placeholder is text, as in node-postgres', async () => {
  assert.equal((await one('SELECT $1 AS v', [42])).v, '42')
})

test('a date beyond Date\'s range is a RangeError naming the column', async () => {
  await assert.rejects(conn.query("SELECT '294276-01-01'::timestamp AS far"), (e) => e instanceof RangeError && /"far"/.test(e.message))
  assert.equal((await conn.query('SELECT 1 AS ok')).rows[0].ok, 1) // the session is still fine
})

test('values that cannot be sent', async () => {
  await assert.rejects(conn.query('SELECT $1', [new Map()]), (e) => e instanceof TypeError && /\$1/.test(e.message) && /Map/.test(e.message))
  await assert.rejects(conn.query('SELECT $1', [new Date(NaN)]), /invalid Date/)
  await assert.rejects(conn.query('SELECT $1::int', [1.5]), (e) => e.code === '22P02')
  await assert.rejects(conn.query('SELECT $1::text', ['\0']), (e) => e.code === '22023')
})

test('many rows, every kind, across batches', async () => {
  const r = await conn.query("SELECT g, g::int8 AS b, g::float8 AS f, g::text AS t, g::numeric AS n, (g % 2 = 0) AS e, " +
    "'2000-01-01'::date + g AS d, make_interval(days => g) AS i, CASE WHEN g % 3 = 0 THEN NULL ELSE g END AS z " +
    'FROM generate_series(1, 25000) g')
  assert.equal(r.rowCount, 25000)
  assert.equal(r.rows.length, 25000)
  const last = r.rows[24999]
  assert.deepEqual(last, { g: 25000, b: 25000n, f: 25000, t: '25000', n: '25000', e: true, d: new Date(Date.UTC(2000, 0, 1) + 25000 * 86400000), i: { months: 0, days: 25000, microseconds: 0 }, z: 25000 })
  assert.equal(r.rows[2].z, null)
})

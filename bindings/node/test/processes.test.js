'use strict'
// Processes: require('lakelink') loads no library (no Go runtime) until
// first use, and cluster workers and child_process.fork children, which
// are fresh Node processes (not a POSIX fork), use lakelink after the
// primary has.
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test, before } = require('node:test')
const { emulator, m2m } = require('./helpers')

const PKG = path.resolve(__dirname, '..')

let info
before(async () => { info = await emulator() })

// The primary uses lakelink, then starts two cluster workers and one
// child_process.fork child that use it too, and uses it again; it prints
// what each got as JSON. A process that does not answer in 30 s is killed
// and reported as HANG.
const SCRIPT = `'use strict'
const cluster = require('node:cluster')
const { fork } = require('node:child_process')
const fs = require('node:fs')
const lakelink = require(${JSON.stringify(PKG)})
const mapped = () => fs.readFileSync('/proc/self/maps', 'utf8').includes('liblakelink')
const loadedAtStart = mapped()
async function use () {
  try {
    return String((await new lakelink.App(process.env.APP_URL, process.env.CONN).fetch('/api/whoami')).status)
  } catch (e) {
    return e.name + ': ' + e.message
  }
}
function answer (proc, name) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); resolve({ name, status: 'HANG' }) }, 30000)
    proc.on('message', (m) => { clearTimeout(timer); resolve({ name, ...m }) })
    proc.on('exit', (code) => { clearTimeout(timer); resolve({ name, status: 'exited ' + code }) })
  })
}
async function main () {
  if (cluster.isWorker || process.argv[2] === 'child') {
    const status = await use()
    process.send({ loadedAtStart, status }, () => process.exit(0))
    return
  }
  const results = [{ name: 'primary', loadedAtStart, status: await use() }]
  results.push(...await Promise.all([answer(cluster.fork(), 'worker 1'), answer(cluster.fork(), 'worker 2'),
    answer(fork(__filename, ['child']), 'child_process.fork')]))
  results.push({ name: 'primary after', status: await use() })
  console.log(JSON.stringify(results))
}
main()
`

test('cluster workers and child_process.fork children use lakelink after the primary has', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lakelink-node-processes-'))
  const script = path.join(dir, 'processes.js')
  fs.writeFileSync(script, SCRIPT)
  try {
    const out = execFileSync(process.execPath, [script], {
      env: { ...process.env, APP_URL: info.app_url, CONN: m2m(info) }, encoding: 'utf8', timeout: 90000
    })
    assert.deepEqual(JSON.parse(out), [
      { name: 'primary', loadedAtStart: false, status: '200' },
      { name: 'worker 1', loadedAtStart: false, status: '200' },
      { name: 'worker 2', loadedAtStart: false, status: '200' },
      { name: 'child_process.fork', loadedAtStart: false, status: '200' },
      { name: 'primary after', status: '200' }
    ])
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('require(\'lakelink\') starts no Go runtime: the library is loaded on first use', () => {
  const code = `const fs = require('node:fs')
    const state = () => [fs.readFileSync('/proc/self/maps', 'utf8').includes('liblakelink'), fs.readdirSync('/proc/self/task').length]
    const [before, threadsBefore] = state()
    const lakelink = require(${JSON.stringify(PKG)})
    const [required, threadsRequired] = state()
    lakelink.libraryVersion()
    console.log(JSON.stringify([before, required, threadsRequired === threadsBefore, state()[0]]))`
  const out = execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60000 })
  assert.deepEqual(JSON.parse(out), [false, false, true, true])
})

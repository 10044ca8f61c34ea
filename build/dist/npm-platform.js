'use strict'
// node build/dist/npm-platform.js TARGET DEST: packs the npm package that
// carries liblakelink for TARGET (linux-x86_64, linux-aarch64,
// windows-x86_64: build/dist/libs.sh's build/out/libs/TARGET/), named and
// tagged (os, cpu, libc) as bindings/node/lib/platforms.js says, at the
// version of the checkout's VERSION file, into the directory DEST. Its main
// module is the library's path, which the main package's lib/native.js
// requires.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { PLATFORMS } = require('../../bindings/node/lib/platforms')

const ROOT = path.resolve(__dirname, '..', '..')
const [target, dest] = process.argv.slice(2)
const platform = PLATFORMS.find((p) => p.target === target)
if (!platform || !dest) {
  throw new Error(`usage: node build/dist/npm-platform.js TARGET DEST, TARGET one of ${PLATFORMS.map((p) => p.target).join(', ')}`)
}
const version = fs.readFileSync(path.join(ROOT, 'VERSION'), 'utf8').trim()
const library = path.join(ROOT, 'build', 'out', 'libs', target, platform.library)
if (!fs.existsSync(library)) throw new Error(`${library} is missing: run build/dist/libs.sh ${target}`)

const stage = path.join(ROOT, 'build', 'out', 'npm', platform.pkg)
fs.rmSync(stage, { recursive: true, force: true })
fs.mkdirSync(stage, { recursive: true })
const where = [platform.os, platform.cpu, platform.libc].filter(Boolean).join(' ')
const manifest = {
  name: platform.pkg,
  version,
  description: `liblakelink for ${where}: the native library of the lakelink package (installed with it)`,
  license: 'Apache-2.0',
  main: 'index.js',
  files: ['index.js', platform.library, 'README.md'],
  os: [platform.os],
  cpu: [platform.cpu],
  ...(platform.libc ? { libc: [platform.libc] } : {})
}
fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n')
fs.writeFileSync(path.join(stage, 'index.js'), "'use strict'\n// The path of the library this package carries.\n" +
  `module.exports = require('node:path').join(__dirname, ${JSON.stringify(platform.library)})\n`)
fs.writeFileSync(path.join(stage, 'README.md'), `# ${platform.pkg}\n\nliblakelink (the lakelink Go core as a C library) for ${where}. ` +
  'Install `lakelink`, not this package: npm installs the one package that fits the machine as its optional dependency.\n')
fs.copyFileSync(library, path.join(stage, platform.library))
fs.mkdirSync(dest, { recursive: true })
execFileSync('npm', ['pack', '--silent', '--pack-destination', path.resolve(dest)], { cwd: stage, stdio: ['ignore', 'inherit', 'inherit'] })

// Builds the native addon (crate act-node) and copies it next to index.js
// under the name native.js loads. `--debug` builds without optimizations.
import { spawnSync } from 'node:child_process'
import { copyFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const here = dirname(dirname(fileURLToPath(import.meta.url)))
const { addonName } = createRequire(import.meta.url)('../native.js')
const release = !process.argv.includes('--debug')
const args = ['build', '-p', 'act-node', '--locked', '--message-format=json-render-diagnostics']
if (release) args.push('--release')

const cargo = spawnSync('cargo', args, {
  cwd: join(here, '..'),
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
})
if (cargo.error) throw cargo.error
if (cargo.status !== 0) process.exit(cargo.status ?? 1)

let artifact
for (const line of cargo.stdout.split('\n')) {
  if (!line.startsWith('{')) continue
  const msg = JSON.parse(line)
  if (msg.reason === 'compiler-artifact' && msg.target?.name === 'act_node' && msg.target.kind.includes('cdylib')) {
    artifact = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f))
  }
}
if (!artifact) {
  console.error('build: cargo did not report the act_node cdylib')
  process.exit(1)
}
const out = join(here, addonName())
copyFileSync(artifact, out)
console.log(`build: ${artifact} -> ${out}`)

import test from 'ava'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { loadGolden } from './helpers/golden'

test('npm run demo: prints the variables tree and the kernel equal to real Flax (1e-6), and the masked output', (t) => {
  const root = join(__dirname, '..')
  const out = execFileSync(process.execPath, ['--import=tsx', join(root, 'examples', 'causal-dense.ts')], { cwd: root, encoding: 'utf8' })
  const lines = out.trim().split('\n')
  t.is(lines[0], '{ params: { dense: { kernel: [5, 5] } } }')
  const numbersAfter = (label: string, rows: number) => {
    const at = lines.findIndex((l) => l.startsWith(label))
    return lines.slice(at + 1, at + 1 + rows).flatMap((l) => l.replace(/[[\]]/g, '').split(',').map(Number))
  }
  const golden = loadGolden('causal_dense_seed').expect
  const kernel = numbersAfter('params/dense/kernel:', 5)
  golden.variables.params.dense.kernel.data.forEach((v: number, i: number) => t.true(Math.abs(kernel[i] - v) < 1e-6, `kernel[${i}]`))
  const y = numbersAfter('apply(x):', 2)
  golden['apply(x)'].data.forEach((v: number, i: number) => t.true(Math.abs(y[i] - v) < 1e-6, `apply(x)[${i}]`))
  t.is(lines[lines.length - 1], 'apply(x) == x @ triu(kernel): true')
})

// The examples in examples/: their logic (imported) against real Flax where Flax has the case
// (flax-cases 17, 18), and each file run as `npx tsx examples/<file>.ts` would run it.
import test from 'ava'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { jnp, tree, type Tensor } from '../ts/index'
import * as quant from '../examples/int8-quantisation'
import * as tied from '../examples/tied-autoencoder'
import * as wstd from '../examples/weight-standardisation'
import { loadGolden, loadLocalGolden } from './helpers/golden'
import { assertMatches, shapes } from './helpers/variables'

const data = (x: Tensor) => Array.from(x.data)

test('weight standardisation (case 17, core_weight_std_test): shapes, y < 1, apply == init output, values as Flax', (t) => {
  const golden = loadLocalGolden('normalization').expect.weight_std
  const { x, y, variables, applied } = wstd.run()
  t.deepEqual(shapes(variables), { params: { hidden_0: { kernel: [4, 8], bias: [8] }, out: { kernel: [8, 1], bias: [1] } } })
  t.deepEqual([...y.shape], [1, 1])
  t.true((y.item() as number) < 1)
  t.deepEqual(data(applied), data(y))
  assertMatches(t, x, golden.x, 0)
  // the stored kernel is the standardised one: unit column norms
  const norms = jnp.sqrt(jnp.sum(jnp.square(variables.params.hidden_0.kernel), 0))
  t.true(data(norms).every((n) => Math.abs(n - 1) < 1e-6))
  // sqrt/sum in another order than XLA's: agreement to float32 rounding
  assertMatches(t, variables, golden.vars, 1e-6)
  assertMatches(t, y, golden.y, 1e-6)
  assertMatches(t, variables.params.out, golden.vars.params.out, 0)
})

test('tied auto-encoder (case 18): one Dense_0 kernel (4, 5), bit-identical to Flax; the decoder alone stores it transposed', (t) => {
  const golden = loadGolden('tied_autoencoder').expect
  const { x, variables, y, z, decoderOnly } = tied.run()
  t.deepEqual(shapes(variables), { params: { Dense_0: { kernel: [4, 5] } } })
  assertMatches(t, variables, golden.variables, 0)
  assertMatches(t, y, golden.y, 1e-6)
  assertMatches(t, z, golden.encode, 1e-6)
  const k: Tensor = variables.params.Dense_0.kernel
  t.deepEqual(data(y), data(jnp.matmul(jnp.matmul(x, k), jnp.transpose(k))))
  t.deepEqual(shapes(decoderOnly), { params: { Dense_0: { kernel: [4, 5] } } })
})

test('int8 quantisation: kernels stored as { q: int8, scale: float32 }; the layer computes with q * scale', (t) => {
  const { x, floatVars, quantVars, yFloat, yQuant, initVars, floatBytes, quantBytes } = quant.run()
  const k: quant.QuantisedKernel = quantVars.params.layers_0.kernel
  t.is(k.q.dtype, 'int8')
  t.true(k.q.data instanceof Int8Array)
  t.is(k.scale.dtype, 'float32')
  t.deepEqual([k.q.shape, k.scale.shape].map((s) => [...s]), [[32, 64], [1, 64]])
  t.true(data(k.q).every((v) => v >= -127 && v <= 127))
  // each column reaches ±127 (symmetric scale = max|k| / 127)
  t.deepEqual(data(jnp.max(jnp.abs(k.q.astype('int32')), 0)), new Array(64).fill(127))
  // the biases are untouched; only kernels are quantised
  t.deepEqual(data(quantVars.params.layers_0.bias), data(floatVars.params.layers_0.bias))
  // the quantised model's output is exactly the float computation with dequantised kernels
  let h = x
  for (let i = 0; i < 3; i++) {
    const p = quantVars.params[`layers_${i}`]
    h = jnp.add(jnp.matmul(h, jnp.multiply(p.kernel.q.astype('float32'), p.kernel.scale)), p.bias)
    if (i < 2) h = jnp.relu(h)
  }
  t.deepEqual(data(yQuant), data(h))
  t.true(quant.relativeError(yQuant, yFloat) < 0.02)
  t.true(floatBytes / quantBytes > 3.4)
  // init stores int8 kernels too, and re-quantising them is a fixed point
  t.deepEqual(
    tree.map((v: Tensor) => v.dtype, initVars).params.layers_1,
    { kernel: { q: 'int8', scale: 'float32' }, bias: 'float32' },
  )
  const { q, scale } = initVars.params.layers_1.kernel
  const again = quant.quantiseKernel(quant.dequantiseKernel({ q, scale }))
  t.deepEqual(data(again.q), data(initVars.params.layers_1.kernel.q))
})

test('every example runs as a script (npx tsx examples/<file>.ts)', (t) => {
  const root = join(__dirname, '..')
  const runScript = (file: string) => execFileSync(process.execPath, ['--import=tsx', join(root, 'examples', file)], { cwd: root, encoding: 'utf8' })
  t.regex(runScript('weight-standardisation.ts'), /apply\(variables, x\) == y: true/)
  t.regex(runScript('tied-autoencoder.ts'), /y == x @ K @ K\^T: true/)
  t.regex(runScript('int8-quantisation.ts'), /init stores int8 kernels: true/)
})

// nn.Dense and nn.DenseGeneral against linear_test.py and the docstrings (spec e.1, e.2;
// flax-cases 80–84). Values computed by real Flax are in golden-dense.spec.ts.
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { ValueError } from '../ts/errors'
import { firstMismatch } from './helpers/close'
import { shapes } from './helpers/variables'

const I = nn.initializers

test('Dense (test_dense, _extra_batch_dims, _no_bias): ones inits give 4 / 3; int inputs promote to float32', (t) => {
  const ones = nn.initializers.ones
  const d = new nn.Dense({ features: 4, kernelInit: ones, biasInit: ones })
  const [y, v] = d.initWithOutput(random.key(0), jnp.ones([1, 3]))
  t.deepEqual(y.toArray(), [[4, 4, 4, 4]])
  t.is(y.dtype, 'float32')
  t.deepEqual(d.apply(v, jnp.ones([1, 2, 3])).toArray(), [[[4, 4, 4, 4], [4, 4, 4, 4]]])
  const nb = new nn.Dense({ features: 4, useBias: false, kernelInit: ones })
  t.deepEqual(nb.init(random.key(0), jnp.ones([1, 3])).params.bias, undefined)
  t.deepEqual(nb.initWithOutput(random.key(0), jnp.ones([1, 3]))[0].toArray(), [[3, 3, 3, 3]])
  // promote_dtype: int32 inputs with float32 params compute in float32
  const yi: Tensor = d.apply(v, jnp.ones([1, 3], 'int32'))
  t.is(yi.dtype, 'float32')
  t.deepEqual(yi.toArray(), [[4, 4, 4, 4]])
  // dtype / paramDtype are accepted; only float32 exists
  const explicit = new nn.Dense({ features: 2, dtype: 'float32', paramDtype: 'float32' })
  t.deepEqual(shapes(explicit.init(random.key(0), jnp.ones([1, 3]))), { params: { kernel: [3, 2], bias: [2] } })
  t.throws(() => new nn.Dense({ features: 2, dtype: 'int32' }).init(random.key(0), jnp.ones([1, 3])), { instanceOf: ValueError })
})

test('Dense == DenseGeneral (test_dense_is_dense_general): normal bias init, key(1) params', (t) => {
  const x = random.normal(random.key(0), [5, 3])
  const opts = { features: 10, biasInit: I.normal() }
  const [yd, vd] = new nn.Dense(opts).initWithOutput(random.key(1), x)
  const [yg, vg] = new nn.DenseGeneral(opts).initWithOutput(random.key(1), x)
  t.deepEqual(Array.from(vg.params.kernel.data), Array.from(vd.params.kernel.data))
  t.deepEqual(Array.from(vg.params.bias.data), Array.from(vd.params.bias.data))
  t.is(firstMismatch(yg.data, yd.data, 0, 1e-6), undefined)
})

test('DenseGeneral exact values (test_dense_general_two_out, _two_in, _batch_dim, _batch_dim_raises)', (t) => {
  const ones = { kernelInit: I.ones, biasInit: I.ones }
  const two = (m: nn.Module, x: Tensor) => m.initWithOutput(random.key(0), x)[0]
  const y1 = two(new nn.DenseGeneral({ features: [2, 2], ...ones }), jnp.ones([1, 3]))
  t.deepEqual(y1.toArray(), [[[4, 4], [4, 4]]])
  const y2 = two(new nn.DenseGeneral({ features: 3, axis: [-2, 2], ...ones }), jnp.ones([1, 2, 2]))
  t.deepEqual(y2.toArray(), [[5, 5, 5]])
  // a counting kernel init: called once, so the kernel is all ones
  let calls = 0
  const counting = (_k: unknown, shape: readonly number[]) => jnp.full(shape, ++calls)
  const dg = new nn.DenseGeneral({ features: 7, axis: [3, -2], batchDims: [0], kernelInit: counting, biasInit: I.ones })
  const y3 = two(dg, jnp.ones([2, 1, 3, 5]))
  t.is(calls, 1)
  t.deepEqual([...y3.shape], [2, 1, 7])
  t.true(Array.from(y3.data).every((v) => v === 16))
  t.throws(() => two(new nn.DenseGeneral({ features: 7, axis: [3, -2], batchDims: [0, 2] }), jnp.ones([1, 1, 1, 1])), {
    instanceOf: ValueError,
    message: 'batch_dims (0, 2) must be consecutive leading dimensions starting from 0.',
  })
})

/** einsum('bijk,jklm->bilm') or ('bijk,bjklm->bilm') of x (b,i,j,k) and the kernel, plain loops. */
function einsum(x: Tensor, kernel: Tensor, batched: boolean): number[] {
  const [B, Ii, J, K] = x.shape
  const [L, M] = kernel.shape.slice(-2)
  const xv = x.data
  const kv = kernel.data
  const out: number[] = []
  for (let b = 0; b < B; b++)
    for (let i = 0; i < Ii; i++)
      for (let l = 0; l < L; l++)
        for (let m = 0; m < M; m++) {
          let s = 0
          for (let j = 0; j < J; j++)
            for (let k = 0; k < K; k++) {
              const kIdx = (((batched ? b * J : 0) + j) * K + k) * L * M + l * M + m
              s += xv[((b * Ii + i) * J + j) * K + k] * kv[kIdx]
            }
          out.push(s)
        }
  return out
}

test('DenseGeneral vs einsum (test_dense_general_vs_numpy), three axis / batch_dims settings', (t) => {
  const x = random.normal(random.key(3), [4, 3, 5, 6])
  for (const [axis, batchDims] of [[[-2, 3], []], [[3, -2], []], [[-2, 3], [0]]] as [number[], number[]][]) {
    const dg = new nn.DenseGeneral({ features: [7, 2], axis, batchDims, biasInit: I.ones, kernelInit: I.normal() })
    const [y, v] = dg.initWithOutput(random.key(0), x)
    const expected = einsum(x, v.params.kernel, batchDims.length > 0).map((s) => s + 1)
    t.deepEqual([...y.shape], [4, 3, 7, 2])
    t.is(firstMismatch(y.data, expected, 1e-5, 1e-6), undefined, `axis ${axis} batch ${batchDims}`)
  }
})

test('DenseGeneral docstring shapes (case 84)', (t) => {
  const init = (m: nn.Module, shape: number[]) => m.initWithOutput(random.key(0), jnp.ones(shape))
  const [, v1] = init(new nn.DenseGeneral({ features: [4, 5] }), [1, 3])
  t.deepEqual(shapes(v1), { params: { kernel: [3, 4, 5], bias: [4, 5] } })
  const [, v2] = init(new nn.DenseGeneral({ features: [4, 5], axis: [1, -1] }), [1, 3, 6, 7])
  t.deepEqual(shapes(v2), { params: { kernel: [3, 7, 4, 5], bias: [4, 5] } })
  const [y3, v3] = init(new nn.DenseGeneral({ features: 6, axis: 1 }), [2, 4, 8])
  t.deepEqual([shapes(v3).params.kernel, [...y3.shape]], [[4, 6], [2, 8, 6]])
  const [y4, v4] = init(new nn.DenseGeneral({ features: 6, axis: [0, 1] }), [2, 4, 8])
  t.deepEqual([shapes(v4).params.kernel, [...y4.shape]], [[2, 4, 6], [8, 6]])
})

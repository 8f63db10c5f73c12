// The cost of nn.mapVariables: the seed example's CausalDense (a Dense whose kernel goes through
// jnp.triu on every apply) against a plain nn.Dense with the same kernel, 1024 features, batch 32,
// both without bias as in the example. A third column does the same work by hand
// (matmul(x, triu(kernel))) to show what is the mask and what is the module machinery. Two more
// columns run both modules' applies through `jit` (traced once into a native plan), where the
// mask is one op of the plan rather than JS module machinery per call.
import { jnp } from 'flaxen'
import { jit } from 'flaxen'
import { nn } from 'flaxen'
import { random } from 'flaxen'
import type { Tensor } from 'flaxen'
import { tree } from 'flaxen'
import type { Variables } from 'flaxen'
import { fill } from '../inputs'
import { oneAndMax, syncImpl, type Case, type Ctx, type Suite, withModuleWarmup } from '../suite'

const FEATURES = 1024
const BATCH = 32

/** Verbatim from examples/causal-dense.ts (that file runs the demo when imported). */
class CausalDense extends nn.Module<{ features: number }> {
  features!: number
  declare dense: nn.Dense

  applyMask = (variables: Variables) => (this.isInitializing() ? variables : tree.map(jnp.triu, variables))

  setup() {
    const Masked = nn.mapVariables(nn.Dense, 'params', this.applyMask, undefined, { init: this.isInitializing() })
    this.dense = new Masked({ features: this.features, useBias: false })
  }

  call(x: Tensor): Tensor {
    return this.dense.call(x)
  }
}

function denseCase(ctx: Ctx): Case {
  // One kernel for all three: CausalDense's own init, reused by the plain Dense.
  const setup = () => {
    const x = jnp.reshape(jnp.array(fill(BATCH * FEATURES)), [BATCH, FEATURES])
    const causal = new CausalDense({ features: FEATURES })
    const variables = causal.init(random.key(0), x)
    const kernel: Tensor = variables.params.dense.kernel
    return { x, causal, variables, kernel, dispose: () => (x.dispose(), kernel.dispose()) }
  }
  return {
    id: `causal-dense-${FEATURES}-b${BATCH}`,
    label: `${FEATURES} features, batch ${BATCH}`,
    params: { features: FEATURES, batch: BATCH },
    toValue: (ns) => ns / 1e3,
    impls: [
      syncImpl('causal', ctx, () => {
        const s = setup()
        return { fn: () => jnp.tidy(() => s.causal.apply(s.variables, s.x)).dispose(), dispose: s.dispose }
      }),
      syncImpl('dense', ctx, () => {
        const s = setup()
        const dense = new nn.Dense({ features: FEATURES, useBias: false })
        const variables = { params: { kernel: s.kernel } }
        return { fn: () => jnp.tidy(() => dense.apply(variables, s.x)).dispose(), dispose: s.dispose }
      }),
      syncImpl('dense-jit', ctx, () => {
        const s = setup()
        const dense = new nn.Dense({ features: FEATURES, useBias: false })
        const variables = { params: { kernel: s.kernel } }
        const f = jit((v: Variables, x: Tensor) => dense.apply(v, x) as Tensor)
        return { fn: () => f(variables, s.x).dispose(), dispose: s.dispose }
      }),
      syncImpl('causal-jit', ctx, () => {
        const s = setup()
        const f = jit((v: Variables, x: Tensor) => s.causal.apply(v, x) as Tensor)
        return { fn: () => f(s.variables, s.x).dispose(), dispose: s.dispose }
      }),
      syncImpl('manual', ctx, () => {
        const s = setup()
        return { fn: () => jnp.tidy(() => jnp.matmul(s.x, jnp.triu(s.kernel))).dispose(), dispose: s.dispose }
      }),
    ],
  }
}

export const causalDense: Suite = {
  name: 'causal-dense',
  title: 'mapVariables cost: CausalDense vs Dense',
  unit: 'µs',
  higherIsBetter: false,
  primary: 'causal',
  columns: [
    { key: 'causal', label: 'CausalDense' },
    { key: 'dense', label: 'nn.Dense' },
    { key: 'manual', label: 'matmul(x, triu(k))' },
    { key: 'dense-jit', label: 'Dense jit' },
    { key: 'causal-jit', label: 'CausalDense jit' },
  ],
  method: 'median time per apply (inside jnp.tidy) after a 2 s warm-up (steady state: V8 tiers the module code up over ~1500 applies); ratio = CausalDense ÷ the column. CausalDense = examples/causal-dense.ts. Dense jit / CausalDense jit = jit((variables, x) => module.apply(variables, x)), output disposed per call.',
  threads: oneAndMax,
  cases: (ctx) => [denseCase(withModuleWarmup(ctx))],
}

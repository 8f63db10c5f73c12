// The MLP 512→2048→512 (Dense, relu, Dense) at batch 1 and 32, in µs per forward pass. Every
// implementation uses the same weights (from ../inputs, scaled small). flaxen runs the module
// through `apply` (and, to separate the module system's cost from the kernels', the same ops as
// bare jnp calls), both inside `jnp.tidy` so intermediates are freed at once as numpy's
// refcounting frees them. onnxruntime gets the weights as initializers, as an exported model has
// them (it may prepack them: that is its real advantage in inference).
import * as jnp from '../../jnp'
import * as nn from '../../linen'
import type { Tensor } from '../../tensor'
import { fill } from '../inputs'
import * as js from '../js-baselines'
import { FLAXEN, JS, NUMPY, ORT, THREAD_NOTE, numpyImpl, oneAndMax, ortImpl, syncImpl, type Case, type Ctx, type Suite, withModuleWarmup } from '../suite'

const [D0, D1, D2] = [512, 2048, 512]
const BATCHES = [1, 32]

class MLP extends nn.Module {
  declare hidden: nn.Dense
  declare out: nn.Dense

  setup() {
    this.hidden = new nn.Dense({ features: D1 })
    this.out = new nn.Dense({ features: D2 })
  }

  call(x: Tensor): Tensor {
    return this.out.call(nn.relu(this.hidden.call(x)))
  }
}

/** The weights, seeded as the numpy peer seeds them. */
const weights = () => ({ w1: fill(D0 * D1, 1, 0.05), b1: fill(D1, 2, 0.05), w2: fill(D1 * D2, 3, 0.05), b2: fill(D2, 4, 0.05) })

function mlpCase(ctx: Ctx, batch: number): Case {
  const x = () => fill(batch * D0)
  const tensors = () => {
    const w = weights()
    return {
      x: jnp.reshape(jnp.array(x()), [batch, D0]),
      w1: jnp.reshape(jnp.array(w.w1), [D0, D1]),
      b1: jnp.array(w.b1),
      w2: jnp.reshape(jnp.array(w.w2), [D1, D2]),
      b2: jnp.array(w.b2),
    }
  }
  const free = (t: Record<string, Tensor>) => () => Object.values(t).forEach((v) => v.dispose())
  const w = weights()
  return {
    id: `mlp-b${batch}`,
    label: `batch ${batch}`,
    params: { batch, dims: `${D0}→${D1}→${D2}`, flops: 2 * batch * (D0 * D1 + D1 * D2) },
    toValue: (ns) => ns / 1e3,
    impls: [
      syncImpl('flaxen', ctx, () => {
        const t = tensors()
        const variables = { params: { hidden: { kernel: t.w1, bias: t.b1 }, out: { kernel: t.w2, bias: t.b2 } } }
        const model = new MLP({})
        return { fn: () => jnp.tidy(() => model.apply(variables, t.x)).dispose(), dispose: free(t) }
      }),
      syncImpl('jnp', ctx, () => {
        const t = tensors()
        const forward = () => jnp.add(jnp.matmul(jnp.relu(jnp.add(jnp.matmul(t.x, t.w1), t.b1)), t.w2), t.b2)
        return { fn: () => jnp.tidy(forward).dispose(), dispose: free(t) }
      }),
      numpyImpl(ctx, { op: 'mlp', batch, dims: [D0, D1, D2] }),
      ortImpl(
        ctx,
        {
          inputs: [{ name: 'x', shape: [batch, D0] }],
          outputs: [{ name: 'y', shape: [batch, D2] }],
          initializers: [
            { name: 'w1', shape: [D0, D1], data: w.w1 },
            { name: 'b1', shape: [D1], data: w.b1 },
            { name: 'w2', shape: [D1, D2], data: w.w2 },
            { name: 'b2', shape: [D2], data: w.b2 },
          ],
          nodes: [
            { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h1'] },
            { op: 'Add', inputs: ['h1', 'b1'], outputs: ['h2'] },
            { op: 'Relu', inputs: ['h2'], outputs: ['h3'] },
            { op: 'MatMul', inputs: ['h3', 'w2'], outputs: ['h4'] },
            { op: 'Add', inputs: ['h4', 'b2'], outputs: ['y'] },
          ],
        },
        () => ({ x: x() }),
      ),
      syncImpl('js', ctx, () => {
        const xs = x()
        return { fn: () => js.biasAct(js.matmul(js.biasAct(js.matmul(xs, w.w1, batch, D0, D1), w.b1, true), w.w2, batch, D1, D2), w.b2, false) }
      }),
    ],
  }
}

export const mlp: Suite = {
  name: 'mlp',
  title: `MLP ${D0}→${D1}→${D2} (Dense, relu, Dense)`,
  unit: 'µs',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: [FLAXEN, { key: 'jnp', label: 'flaxen jnp ops' }, NUMPY, { key: 'ort', label: `${ORT.label} (initializers)` }, JS],
  method: `median time per forward pass after a 2 s warm-up (steady state). flaxen = nn.Module apply in jnp.tidy; flaxen jnp ops = the same five ops called directly. ${THREAD_NOTE}`,
  threads: oneAndMax,
  cases: (ctx) => BATCHES.map((b) => mlpCase(withModuleWarmup(ctx), b)),
}

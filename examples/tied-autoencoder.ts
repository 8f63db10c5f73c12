// A tied auto-encoder (Flax's test_map_variables_tied_autoencoder), line by line: the decoder
// reuses the encoder's Dense kernel transposed, through `nn.map_variables(f, 'params', map_fn,
// map_fn, mutable=True)(self)`. Both paths create `Dense_0` (autonaming restarts per compact
// call), so there is one kernel of shape (features, latents).
//
//   class TiedAutencoder(nn.Module):
//     features: int
//     latents: int
//     @nn.compact
//     def _call(self, x, decode):
//       def f(self):
//         return nn.Dense(self.features if decode else self.latents, use_bias=False)(x)
//       map_fn = trans if decode else (lambda x: x)
//       return nn.map_variables(f, 'params', map_fn, map_fn, mutable=True)(self)
//     def encode(self, x): return self._call(x, False)
//     def decode(self, x): return self._call(x, True)
//     def __call__(self, x): return self.decode(self.encode(x))
import { jnp, nn, random, tree, type Tensor, type Variables } from '../ts/index'

const trans = (variables: Variables): Variables => tree.map((x: Tensor) => jnp.transpose(x), variables)
const identity = (variables: Variables): Variables => variables

export class TiedAutoencoder extends nn.Module<{ features: number; latents: number }> {
  features!: number
  latents!: number

  @nn.compact
  _call(x: Tensor, decode: boolean): Tensor {
    const f = (self: TiedAutoencoder) => new nn.Dense({ features: decode ? self.features : self.latents, useBias: false }).call(x)
    const mapFn = decode ? trans : identity
    return nn.mapVariables(f, 'params', mapFn, mapFn, { mutable: true })(this)
  }

  encode(x: Tensor): Tensor {
    return this._call(x, false)
  }

  decode(z: Tensor): Tensor {
    return this._call(z, true)
  }

  call(x: Tensor): Tensor {
    return this.decode(this.encode(x))
  }
}

export function run() {
  const x = jnp.reshape(jnp.linspace(0, 1, 8), [2, 4])
  const ae = new TiedAutoencoder({ features: 4, latents: 5 })
  const variables = ae.init(random.key(0), x)
  const y: Tensor = ae.apply(variables, x)
  const z: Tensor = ae.applyWith(variables, { method: 'encode' }, x)
  // The decoder alone also initialises the one kernel, created inside as (5, 4) and stored transposed.
  const decoderOnly = ae.initWith(random.key(0), { method: 'decode' }, z)
  return { x, variables, y, z, decoderOnly }
}

if (require.main === module) {
  const { variables, y, z, decoderOnly } = run()
  const shapes = (v: Variables) => JSON.stringify(tree.map((t: Tensor) => [...t.shape], v))
  console.log('variables:', shapes(variables))
  console.log('encode(x) shape:', z.shape, ' reconstruction shape:', y.shape)
  const kernel: Tensor = variables.params.Dense_0.kernel
  const manual = jnp.matmul(jnp.matmul(jnp.reshape(jnp.linspace(0, 1, 8), [2, 4]), kernel), jnp.transpose(kernel))
  console.log('y == x @ K @ K^T:', y.data.every((v, i) => v === manual.data[i]))
  console.log('decoder-only init:', shapes(decoderOnly))
}

// nn.mapVariables cases against real Flax: bit weights (init=true), tied auto-encoder
// (function target, mutable=true) and a mapped non-param collection.
import test from 'ava'
import { jnp, nn, random, tree, type Tensor } from '../ts/index'
import type { Variables } from '../ts/core'
import { loadGolden } from './helpers/golden'
import { assertMatches, shapes } from './helpers/variables'

class BitWeights extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    const sign = (v: Variables) => tree.map(jnp.sign, v)
    const BitDense = nn.mapVariables(nn.Dense, 'params', sign, undefined, { init: true })
    return new BitDense({ features: 4 }).call(x)
  }
}

test('bit_weights: stored params are signs, at params/Map_variablesDense_0', (t) => {
  const golden = loadGolden('bit_weights').expect
  const x = jnp.ones([2, 4])
  const [y, v] = new BitWeights().initWithOutput(random.key(0), x)
  t.deepEqual(shapes(v), { params: { Map_variablesDense_0: { kernel: [4, 4], bias: [4] } } })
  assertMatches(t, v, golden.variables, 0)
  assertMatches(t, y, golden.y, 0)
  assertMatches(t, new BitWeights().apply(v, x), golden.apply, 0)
})

const trans = (v: Variables) => tree.map((x: Tensor) => jnp.transpose(x), v)

class TiedAutoencoder extends nn.Module<{ features: number; latents: number }> {
  features!: number
  latents!: number

  @nn.compact
  _call(x: Tensor, decode: boolean): Tensor {
    const f = (self: TiedAutoencoder) => new nn.Dense({ features: decode ? self.features : self.latents, useBias: false }).call(x)
    const mapFn = decode ? trans : (v: Variables) => v
    return nn.mapVariables(f, 'params', mapFn, mapFn, { mutable: true })(this)
  }

  encode(x: Tensor): Tensor {
    return this._call(x, false)
  }

  decode(x: Tensor): Tensor {
    return this._call(x, true)
  }

  call(x: Tensor): Tensor {
    return this.decode(this.encode(x))
  }
}

test('tied_autoencoder: one Dense_0 kernel (4, 5), used transposed by the decoder', (t) => {
  const golden = loadGolden('tied_autoencoder').expect
  const x = jnp.reshape(jnp.linspace(0, 1, 8), [2, 4])
  const ae = new TiedAutoencoder({ features: 4, latents: 5 })
  const v = ae.init(random.key(0), x)
  t.deepEqual(shapes(v), { params: { Dense_0: { kernel: [4, 5] } } })
  assertMatches(t, v, golden.variables, 0)
  assertMatches(t, ae.apply(v, x), golden.y, 1e-6)
  assertMatches(t, ae.applyWith(v, { method: ae.encode }, x), golden.encode, 1e-6)
  assertMatches(t, ae.applyWith(v, { method: 'encode' }, x), golden.encode, 1e-6)
  assertMatches(t, ae.applyWith(v, { method: TiedAutoencoder.prototype.encode }, x), golden.encode, 1e-6)
  assertMatches(t, ae.applyWith(v, { method: (m: TiedAutoencoder, z: Tensor) => m.encode(z) }, x), golden.encode, 1e-6)
})

class Counter extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    const c = this.variable('counter', 'count', () => jnp.zeros([]))
    c.value = jnp.add(c.value, 1.0)
    return jnp.multiply(x, c.value)
  }
}

class Outer extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    const Scaled = nn.mapVariables(
      Counter,
      'counter',
      (v) => tree.map((t: Tensor) => jnp.multiply(t, 10.0), v),
      (v) => tree.map((t: Tensor) => jnp.divide(t, 10.0), v),
      { mutable: true },
    )
    return new Scaled().call(x)
  }
}

test('map_variables_mutable_state: a scaled counter in a non-param collection', (t) => {
  const golden = loadGolden('map_variables_mutable_state').expect
  const x = jnp.ones([2])
  const [y0, v] = new Outer().initWithOutput(random.key(0), x)
  assertMatches(t, y0, golden.init_y, 0)
  assertMatches(t, v, golden.init_vars, 0)
  const [y1, s1] = new Outer().applyWith(v, { mutable: ['counter'] }, x)
  assertMatches(t, y1, golden.apply1_y, 0)
  assertMatches(t, s1, golden.apply1_state, 0)
  const [y2, s2] = new Outer().applyWith(s1, { mutable: ['counter'] }, x)
  assertMatches(t, y2, golden.apply2_y, 0)
  assertMatches(t, s2, golden.apply2_state, 0)
  // the caller's variables are never mutated
  assertMatches(t, v, golden.init_vars, 0)
})

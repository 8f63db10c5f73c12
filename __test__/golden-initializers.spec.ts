// flax.linen.initializers applied to key(0) with shapes (3,4) and (2,3,4), against real JAX.
import test from 'ava'
import { nn, random } from '../ts/index'
import { loadGolden } from './helpers/golden'
import { assertMatches } from './helpers/variables'

const I = nn.initializers
const inits: Record<string, nn.Initializer> = {
  'lecun_normal()': I.lecunNormal(),
  'lecun_uniform()': I.lecunUniform(),
  'glorot_normal()': I.glorotNormal(),
  'glorot_uniform()': I.glorotUniform(),
  'he_normal()': I.heNormal(),
  'he_uniform()': I.heUniform(),
  'normal(0.02)': I.normal(0.02),
  'uniform(0.5)': I.uniform(0.5),
  'truncated_normal(0.02)': I.truncatedNormal(0.02),
  "variance_scaling(2.0,'fan_out','truncated_normal')": I.varianceScaling(2.0, 'fan_out', 'truncated_normal'),
  "variance_scaling(1.0,'fan_avg','uniform')": I.varianceScaling(1.0, 'fan_avg', 'uniform'),
  "variance_scaling(1.0,'fan_in','normal',out_axis=0)": I.varianceScaling(1.0, 'fan_in', 'normal', { outAxis: 0 }),
  'zeros_init()': I.zerosInit(),
  'ones_init()': I.onesInit(),
  'constant(0.7)': I.constant(0.7),
}

const golden = loadGolden('initializers').expect

for (const [name, init] of Object.entries(inits)) {
  for (const shape of [[3, 4], [2, 3, 4]]) {
    const key = `${name} (${shape.join(', ')})`
    test(`${key} is bit-identical to JAX`, (t) => {
      t.truthy(golden[key], `golden has ${key}`)
      assertMatches(t, init(random.key(0), shape, 'float32'), golden[key], 0)
    })
  }
}

test('every golden initializer case is covered', (t) => {
  const covered = Object.keys(inits).flatMap((n) => [`${n} (3, 4)`, `${n} (2, 3, 4)`])
  t.deepEqual(covered.sort(), Object.keys(golden).sort())
})

// Bit-exact sampling at scale: random.normal, random.truncatedNormal and the float32
// initializers built on them, drawn through the public API over >= 2^22 values per case from
// several keys, against JAX 0.10.2 (scripts/golden/sampling_scale.py →
// __test__/golden/sampling_scale.json). The arrays are too big to commit, so the golden holds the
// sha256 of each array's little-endian float32 bytes (proves every value) plus ~250 sampled
// (index, bit pattern) pairs (show where a mismatch is).
import test from 'ava'
import { createHash } from 'node:crypto'
import { nn, random, type Tensor } from '../ts/index'
import { loadLocalGolden } from './helpers/golden'

interface Summary {
  shape: number[]
  dtype: string
  sha256: string
  index: number[]
  bits: number[]
}

const golden = loadLocalGolden('sampling_scale').expect as Record<string, Summary>
const I = nn.initializers
const splitKey = random.split(random.key(1234))[1]
const N = [1 << 22]

const cases: Record<string, () => Tensor> = {
  'normal key(0) (4194304,)': () => random.normal(random.key(0), N),
  'normal key(3) (4194304,)': () => random.normal(random.key(3), N),
  'normal key(42) (4194304,)': () => random.normal(random.key(42), N),
  'normal key(1234) (4194304,)': () => random.normal(random.key(1234), N),
  'normal split(key(1234))[1] (4194304,)': () => random.normal(splitKey, N),
  'normal key(7) (1531, 2741)': () => random.normal(random.key(7), [1531, 2741]),
  'truncated_normal(-2, 2) key(3) (4194304,)': () => random.truncatedNormal(random.key(3), -2, 2, N),
  'truncated_normal(-2, 2) key(0) (4194304,)': () => random.truncatedNormal(random.key(0), -2, 2, N),
  'truncated_normal(-1, 3) key(42) (4194304,)': () => random.truncatedNormal(random.key(42), -1, 3, N),
  'truncated_normal(0.5, 4) key(1234) (4194304,)': () => random.truncatedNormal(random.key(1234), 0.5, 4, N),
  'truncated_normal(-6, 6) split(key(1234))[1] (4194304,)': () => random.truncatedNormal(splitKey, -6, 6, N),
  'truncated_normal(-5.3, 5.35) key(5) (4194304,)': () => random.truncatedNormal(random.key(5), -5.3, 5.35, N),
  'lecun_normal() key(0) (2048, 2048)': () => I.lecunNormal()(random.key(0), [2048, 2048], 'float32'),
  'he_normal() key(11) (256, 256, 8, 8)': () => I.heNormal()(random.key(11), [256, 256, 8, 8], 'float32'),
  'glorot_normal() key(12) (1024, 4096)': () => I.glorotNormal()(random.key(12), [1024, 4096], 'float32'),
  'normal(0.02) key(13) (4096, 1024)': () => I.normal(0.02)(random.key(13), [4096, 1024], 'float32'),
  'truncated_normal(0.02) key(14) (2048, 2048)': () => I.truncatedNormal(0.02)(random.key(14), [2048, 2048], 'float32'),
  "variance_scaling(2.0,'fan_out','truncated_normal') key(15) (1024, 4096)": () =>
    I.varianceScaling(2.0, 'fan_out', 'truncated_normal')(random.key(15), [1024, 4096], 'float32'),
  "variance_scaling(1.0,'fan_in','normal',out_axis=0) key(16) (4096, 1024)": () =>
    I.varianceScaling(1.0, 'fan_in', 'normal', { outAxis: 0 })(random.key(16), [4096, 1024], 'float32'),
}

for (const [name, draw] of Object.entries(cases)) {
  test(`${name} is bit-identical to JAX`, (t) => {
    const want = golden[name]
    t.truthy(want, `golden has ${name}`)
    const x = draw()
    t.deepEqual(x.shape, want.shape)
    t.is(x.dtype, 'float32')
    const data = x.data as Float32Array
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length)
    // Samples first: a failure names the index and both bit patterns.
    const bad = want.index.flatMap((i, j) =>
      bits[i] === want.bits[j] ? [] : [`[${i}] got ${data[i]} (0x${bits[i].toString(16)}) want 0x${want.bits[j].toString(16)}`],
    )
    t.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${want.index.length} samples differ`)
    t.true(want.index.length >= 200)
    // Then every value: Float32Array bytes are little-endian on every platform Node runs on here
    // (x86-64 / arm64), the golden digest is of little-endian float32 bytes.
    const digest = createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex')
    t.is(digest, want.sha256, `sha256 of all ${data.length} values`)
  })
}

test('every golden sampling case is drawn, >= 2^22 values each', (t) => {
  t.deepEqual(Object.keys(cases).sort(), Object.keys(golden).sort())
  for (const g of Object.values(golden)) t.true(g.shape.reduce((a, b) => a * b, 1) >= 1 << 22)
})

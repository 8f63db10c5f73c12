import test from 'ava'
import { random, Tensor } from '../ts/index'
import { native } from '../ts/native'
import { firstMismatch } from './helpers/close'
import { loadGolden } from './helpers/golden'
import { nop } from './helpers/native-op'

const words = (keys: random.Key[]) => keys.flatMap((k) => Array.from(k.words))

test('threefry2x32 block: Random123 known answers (spec g.2)', (t) => {
  const cases: [number[], number[], number[]][] = [
    [[0, 0], [0, 0], [0x6b200159, 0x99ba4efe]],
    [[0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x1cb996fc, 0xbb002be7]],
    [[0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3], [0xc4923a9c, 0x483df7a0]],
  ]
  for (const [key, ctr, out] of cases) t.deepEqual(Array.from(new Tensor(nop('threefry2x32', Uint32Array.from(key), Uint32Array.from(ctr))).data), out)
})

test('keys, fold_in and split (spec g.1, g.3)', (t) => {
  t.deepEqual(Array.from(random.keyData(random.key(0))), [0, 0])
  t.deepEqual(Array.from(random.keyData(random.key(42))), [0, 42])
  t.deepEqual(Array.from(random.keyData(random.key(-1))), [0, 0xffffffff])
  t.deepEqual(Array.from(random.foldIn(random.key(0), 4).words), [2285895361, 433833334])
  t.deepEqual(words(random.split(random.key(0))), [1797259609, 2579123966, 928981903, 3453687069])
  t.deepEqual(words(random.split(random.key(42), 2)), [1832780943, 270669613, 64467757, 2916123636])
  // partitionable split is fold_in by index
  const ks = random.split(random.key(9), 5)
  ks.forEach((k, i) => t.deepEqual(Array.from(k.words), Array.from(random.foldIn(random.key(9), i).words)))
  // raw key data is accepted wherever a Key is
  t.deepEqual(Array.from(random.foldIn(Uint32Array.of(0, 0), 4).words), [2285895361, 433833334])
})

test('partitionable known answers of spec g.6', (t) => {
  const s = 942802475
  t.deepEqual(Array.from(random.bits(random.key(s), [5], 'uint8').data), [82, 148, 242, 109, 246])
  t.deepEqual(Array.from(random.bits(random.key(s), [5], 'uint16').data), [31058, 56468, 60146, 33133, 1782])
  t.deepEqual(Array.from(random.bits(random.key(s), [5]).data), [4038424914, 1672141972, 3132287730, 1558872429, 1728513782])
  t.deepEqual(Array.from(random.bits(random.key(1701), [3], 'uint8').data), [37, 59, 52])
  t.deepEqual(Array.from(random.bits(random.key(1701), [3], 'uint16').data), [42789, 29755, 60468])
  t.deepEqual(Array.from(random.bits(random.key(1701), [3]).data), [1111271205, 2679469115, 974515252])
  t.deepEqual(Array.from(random.bits(random.key(0), [5]).data), [4070199207, 4202968722, 1427181096, 2012915765, 2447653815])
  const close = (x: Tensor, e: number[], rtol = 2e-6) => t.is(firstMismatch(x.data, e, rtol, 1e-7), undefined)
  close(random.uniform(random.key(1338574713), [5]), [0.68154705, 0.85708475, 0.11141419, 0.05772257, 0.43833673])
  close(random.normal(random.key(1193674498), [5]), [0.60535985, -0.786003, -1.2520535, -0.20597291, 0.12061446])
  close(random.truncatedNormal(random.key(2846034731), 0, 2, [5]), [0.05439106, 0.6846367, 0.9068901, 1.2741935, 0.50032043])
  t.deepEqual(Array.from(random.randint(random.key(1319372649), [5], 0, 10).data), [4, 1, 3, 8, 4])
  t.deepEqual(random.randint(random.key(0), [3, 3], 0, 8).toArray(), [[5, 0, 0], [5, 3, 3], [0, 7, 5]])
  close(random.uniform(random.key(0), [5]), [0.947667, 0.9785799, 0.33229148, 0.46866846, 0.5698887])
  close(random.normal(random.key(0), [5]), [1.622642, 2.0252647, -0.43359444, -0.07861735, 0.1760909])
  close(random.truncatedNormal(random.key(0), -2, 2, [5]), [1.455959, 1.7147484, -0.4126753, -0.07503343, 0.16800097])
})

// Every entry of the golden file made by real JAX, through the public API.
const golden = loadGolden('prng_values').expect
const seedOf = (name: string) => Number(/key\((\d+)\)/.exec(name)![1])
const cases: [RegExp, (name: string) => Tensor | Uint32Array | number[]][] = [
  [/^key\(\d+\)$/, (n) => random.keyData(random.key(seedOf(n)))],
  [/^split\(key\(\d+\),3\)$/, (n) => words(random.split(random.key(seedOf(n)), 3))],
  [/^fold_in\(key\(\d+\),7\)$/, (n) => random.foldIn(random.key(seedOf(n)), 7).words],
  [/^split\(key\(0\),\(2,2\)\)$/, () => words(random.split(random.key(0), 4))],
  [/^bits\(key\(0\),\(2,3\)\) uint32$/, () => random.bits(random.key(0), [2, 3])],
  [/^bits\(key\(0\),\(5,\)\) uint8$/, () => random.bits(random.key(0), [5], 'uint8')],
  [/^uniform\(key\(0\),\(2,3\)\)$/, () => random.uniform(random.key(0), [2, 3])],
  [/^uniform\(key\(0\),\(4,\),minval=-2,maxval=3\)$/, () => random.uniform(random.key(0), [4], { minval: -2, maxval: 3 })],
  [/^uniform\(key\(0\),\(\)\)$/, () => random.uniform(random.key(0), [])],
  [/^normal\(key\(0\),\(3,4\)\)$/, () => random.normal(random.key(0), [3, 4])],
  [/^normal\(key\(1\),\(1000,\)\)$/, () => random.normal(random.key(1), [1000])],
  [/^truncated_normal\(key\(0\),-2,2,\(3,4\)\)$/, () => random.truncatedNormal(random.key(0), -2, 2, [3, 4])],
  [/^truncated_normal\(key\(3\),0,2,\(1000,\)\)$/, () => random.truncatedNormal(random.key(3), 0, 2, [1000])],
  [/^randint\(key\(0\),\(3,3\),0,8\)$/, () => random.randint(random.key(0), [3, 3], 0, 8)],
  [/^randint\(key\(5\),\(6,\),-5,5\)$/, () => random.randint(random.key(5), [6], -5, 5)],
  [/^bernoulli\(key\(0\),0.3,\(8,\)\)$/, () => random.bernoulli(random.key(0), 0.3, [8])],
  [/^uniform adler32 seed (\d+)/, (n) => random.uniform(random.key(Number(/seed (\d+)/.exec(n)![1])), [5])],
  [/^normal adler32 seed (\d+)/, (n) => random.normal(random.key(Number(/seed (\d+)/.exec(n)![1])), [5])],
  [/^truncated_normal adler32 seed (\d+)/, (n) => random.truncatedNormal(random.key(Number(/seed (\d+)/.exec(n)![1])), 0, 2, [5])],
  [/^randint adler32 seed (\d+)/, (n) => random.randint(random.key(Number(/seed (\d+)/.exec(n)![1])), [5], 0, 10)],
]

for (const [name, want] of Object.entries(golden) as [string, { shape: number[]; dtype: string; data: (number | boolean)[] }][]) {
  test(`golden prng_values: ${name}`, (t) => {
    const c = cases.find(([re]) => re.test(name))
    if (!c) return t.fail(`no case maps golden entry ${name}`)
    const got = c[1](name)
    const expected = want.data.map(Number)
    if (Array.isArray(got) || got instanceof Uint32Array) return t.deepEqual(Array.from(got), expected)
    t.deepEqual([...got.shape], want.shape)
    t.is(got.dtype as string, want.dtype)
    if (want.dtype === 'float32') t.is(firstMismatch(got.data, expected, 2e-6, 1e-6), undefined)
    else t.deepEqual(Array.from(got.data), expected)
  })
}

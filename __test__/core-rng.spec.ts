// Flax's RNG derivation (spec b.5): one foldIn of a SHA-1 word over path names and counter.
import { createHash } from 'node:crypto'
import test from 'ava'
import { random } from '../ts/index'
import { LazyRng, Scope, foldInStatic, init, isValidRng, staticHashWord, withConfig } from '../ts/core'
import { InvalidRngError, ValueError } from '../ts/errors'
import { keyWords } from './helpers/variables'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'

// spec b.5 worked examples: [path, counter, SHA-1 word, key words] with root key(0)
const TABLE: [string[], number, number, [number, number]][] = [
  [[], 1, 0xbf8b4530, [1428664606, 3351135085]],
  [[], 2, 0xc4ea21bb, [3456700291, 3873160899]],
  [[], 3, 0x9842926a, [2411773124, 4124888837]],
  [['Dense_0'], 1, 0xb2b71315, [3043437727, 3662875008]],
  [['Dense_0'], 2, 0x8916588a, [2912151818, 3648475384]],
  [['Dense_1'], 1, 0x06a9f0dc, [3520776978, 4166105696]],
  [['MultiHeadDotProductAttention_0', 'query'], 1, 0xa70d60ed, [2188737070, 1158017047]],
  [['layers_0'], 1, 0x236050e3, [2492339885, 3892384954]],
]

test('b.5 table: SHA-1 words and resulting keys for (path, counter)', (t) => {
  for (const [path, n, word, words] of TABLE) {
    t.is(staticHashWord([...path, n]), word, `word of ${path}/${n}`)
    t.deepEqual(keyWords(foldInStatic(random.key(0), [...path, n])), words, `key of ${path}/${n}`)
    t.deepEqual(keyWords(LazyRng.create(LazyRng.create(random.key(0), ...path), n).asJaxRng()), words)
  }
})

test("b.5 table: ('Dropout_0',), 1 with root key(1)", (t) => {
  t.is(staticHashWord(['Dropout_0', 1]), 0xa1a37726)
  t.deepEqual(keyWords(foldInStatic(random.key(1), ['Dropout_0', 1])), [4113325155, 798010028])
})

test('b.5 table: flax_fix_rng_separator=True hashes a zero byte before each element', (t) => {
  withConfig({ flaxFixRngSeparator: true }, () => {
    // SHA-1(00 01) starts 3f295464; the spec table prints 0x3f29b164 (a typo: its key words,
    // checked here, are those of 0x3f295464).
    t.is(staticHashWord([1]), 0x3f295464)
    t.deepEqual(keyWords(foldInStatic(random.key(0), [1])), [1543086838, 3704909070])
  })
  t.is(staticHashWord([1]), 0xbf8b4530, 'the flag is restored')
})

test('separator flag (test_fold_in_static_seperator): ab|c vs a|bc', (t) => {
  const a = () => keyWords(new LazyRng(random.key(0), ['ab', 'c']).asJaxRng())
  const b = () => keyWords(new LazyRng(random.key(0), ['a', 'bc']).asJaxRng())
  t.deepEqual(a(), b(), 'same SHA-1 input without the flag')
  withConfig({ flaxFixRngSeparator: true }, () => t.notDeepEqual(a(), b()))
})

test('integers are minimal big-endian (0 hashes no bytes), strings UTF-8', (t) => {
  t.is(staticHashWord([0]), staticHashWord(['']))
  t.is(staticHashWord([256]), staticHashWord(['\u0001\u0000']))
  t.is(staticHashWord(['é']), createHash('sha1').update(Buffer.of(0xc3, 0xa9)).digest().readUInt32BE(0))
  t.throws(() => staticHashWord([-1]), { instanceOf: ValueError, message: 'Expected int or string, got: -1' })
  t.throws(() => staticHashWord([1.5]), { instanceOf: ValueError })
  // empty suffix: the key itself
  const k = random.key(3)
  t.is(foldInStatic(k, []), k)
})

test('LazyRng.create extends the suffix of a lazy key', (t) => {
  const r = LazyRng.create(LazyRng.create(random.key(0), 'a'), 'b', 2)
  t.deepEqual([...r.suffix], ['a', 'b', 2])
  t.deepEqual(keyWords(r.clearSuffix().asJaxRng()), [0, 0])
})

test('valid keys (test_rng_check_w_old_and_new_keys, ..._lazy_rng)', (t) => {
  t.true(isValidRng(random.key(0)))
  t.true(isValidRng(random.keyData(random.key(0))))
  t.true(isValidRng(LazyRng.create(random.key(0), 1)))
  t.false(isValidRng(new Uint32Array(4)), 'split key data (2 keys) is not a key')
  t.false(isValidRng(random.split(random.key(0))))
  t.false(isValidRng('test'))
})

test('first params key at the root (test_rng) is LazyRng.create(key(0), 1)', (t) => {
  const [y] = init((scope: Scope) => {
    t.true(scope.hasRng('params'))
    t.false(scope.hasRng('dropout'))
    return keyWords(scope.makeRng('params'))
  })(random.key(0))
  t.deepEqual(y, keyWords(LazyRng.create(random.key(0), 1).asJaxRng()))
  t.deepEqual(y, [1428664606, 3351135085])
})

test('counters survive rewinds (test_rng_counter_reuse)', (t) => {
  const f = (scope: Scope) => keyWords(scope.makeRng('dropout'))
  let root = new Scope({}, { dropout: random.key(0) })
  const a = root.child(f)()
  root = root.rewound()
  const b = root.child(f)()
  t.notDeepEqual(a, b)
  t.deepEqual(a, keyWords(foldInStatic(random.key(0), ['f_0', 1])))
  t.deepEqual(b, keyWords(foldInStatic(random.key(0), ['f_0', 2])))
  // rewound(rewindRngs=true) restarts the counters
  const c = root.rewound(true).child(f)()
  t.deepEqual(c, a)
})

test("a missing stream falls back to 'params' and advances its counter", (t) => {
  const [keys] = init((scope: Scope) => [keyWords(scope.makeRng('dropout')), keyWords(scope.makeRng()), keyWords(scope.makeRng('params'))])(random.key(0))
  t.deepEqual(keys, [1, 2, 3].map((n) => keyWords(foldInStatic(random.key(0), [n]))))
})

test('no params stream: InvalidRngError "<name> needs PRNG for ..." (None at the root)', (t) => {
  const root = new Scope({}, { other: random.key(0) })
  const e1 = t.throws(() => root.makeRng('params'), { instanceOf: InvalidRngError })
  t.is(e1.message, `None needs PRNG for "params" (${URL}InvalidRngError)`)
  const e2 = t.throws(() => root.push('Dense_0').makeRng('dropout'), { instanceOf: InvalidRngError })
  t.is(e2.message, `Dense_0 needs PRNG for "dropout" (${URL}InvalidRngError)`)
})

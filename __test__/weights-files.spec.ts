// Weights files end to end (issue 11): files written by real Flax 0.12.8 and Python's
// safetensors (scripts/golden/weights_files.py → __test__/golden/weights) restore exactly, and
// what flaxen writes for the same trees is byte-identical; mapped loading is zero-copy and
// private; sharded checkpoints merge.
import test from 'ava'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Tensor, jnp, nn, random, safetensors, serialization } from '../ts/index'
import { native } from '../ts/native'

const DIR = join(__dirname, 'golden', 'weights')
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'))
const file = (name: string) => manifest.files.find((f: any) => f.path === name)
const bytesOf = (name: string) => new Uint8Array(readFileSync(join(DIR, name)))
const hexOf = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex')

/** The bytes flaxen's tensor must hold for a file array: narrowed to 32 bits as JAX does. */
function expectedHex(dtype: string, hex: string): [string, string] {
  const b = Buffer.from(hex, 'hex')
  const out = (n: number, w: (o: Buffer, i: number) => void) => {
    const o = Buffer.alloc(4 * n)
    for (let i = 0; i < n; i++) w(o, i)
    return o.toString('hex')
  }
  switch (dtype) {
    case 'int64':
    case 'I64':
      return ['int32', out(b.length / 8, (o, i) => o.writeInt32LE(Number(b.readBigInt64LE(8 * i)), 4 * i))]
    case 'uint64':
    case 'U64':
      return ['uint32', out(b.length / 8, (o, i) => o.writeUInt32LE(Number(b.readBigUInt64LE(8 * i)), 4 * i))]
    case 'float64':
    case 'F64':
      return ['float32', out(b.length / 8, (o, i) => o.writeFloatLE(b.readDoubleLE(8 * i), 4 * i))]
    case 'int16':
    case 'I16':
      return ['int32', out(b.length / 2, (o, i) => o.writeInt32LE(b.readInt16LE(2 * i), 4 * i))]
  }
  const names: Record<string, string> = { F32: 'float32', I32: 'int32', U32: 'uint32', U16: 'uint16', U8: 'uint8', I8: 'int8', BOOL: 'bool', F16: 'float16', BF16: 'bfloat16' }
  return [names[dtype] ?? dtype, hex]
}

/** Compares a restored tree with the manifest's description of the Python tree. */
function checkTree(t: any, got: unknown, want: any, path: string): void {
  const [kind, v] = Object.entries(want)[0] as [string, any]
  switch (kind) {
    case 'map':
      t.deepEqual(Object.keys(got as object), v.map((e: any) => e[0]), `${path}: keys`)
      for (const [k, sub] of v) checkTree(t, (got as Record<string, unknown>)[k], sub, `${path}/${k}`)
      return
    case 'list':
      t.true(Array.isArray(got), `${path}: a list`)
      v.forEach((sub: any, i: number) => checkTree(t, (got as unknown[])[i], sub, `${path}/${i}`))
      return
    case 'ndarray': {
      t.true(got instanceof Tensor, `${path}: a tensor`)
      const [dtype, hex] = expectedHex(v.dtype, v.hex)
      t.is((got as Tensor).dtype as string, dtype, `${path}: dtype`)
      t.deepEqual((got as Tensor).shape, v.shape, `${path}: shape`)
      t.is(hexOf(got as Tensor), hex, `${path}: values`)
      return
    }
    case 'int':
      t.is(typeof got === 'bigint' ? got : BigInt(got as number), BigInt(v), `${path}: int`)
      return
    case 'float': {
      const x = typeof v === 'string' ? Buffer.from(v, 'hex').readDoubleBE(0) : v
      t.true(Object.is(got, x), `${path}: float ${String(got)} vs ${x}`)
      return
    }
      return
    case 'bytes':
      t.is(Buffer.from(got as Uint8Array).toString('hex'), v, `${path}: bytes`)
      return
    default:
      t.deepEqual(got, v, `${path}: ${kind}`)
  }
}

// Complex arrays have no flaxen dtype.
const loadable = (f: any) => !JSON.stringify(f.tree ?? f.tensors).match(/"(complex\d+|C64)"/)

for (const f of manifest.files.filter((f: any) => f.format === 'msgpack')) {
  test(`msgpack: ${f.path} (${f.made_by}) restores exactly, from the file and from its bytes`, (t) => {
    if (!loadable(f)) {
      // complex arrays (and here int64 extremes) have no 32-bit flaxen dtype
      const e = t.throws(() => serialization.msgpackRestoreFile(join(DIR, f.path))) as { code?: string }
      t.true(e.code === 'E_DTYPE' || e.code === 'E_RANGE', String(e.code))
      return
    }
    checkTree(t, serialization.msgpackRestoreFile(join(DIR, f.path)), f.tree, '.')
    checkTree(t, serialization.msgpackRestore(bytesOf(f.path)), f.tree, '.')
  })
}

// (flax_chunked.msgpack also holds a float64 scalar, which loads as float32: its bytes differ by design)
for (const name of ['flax_params.msgpack', 'flax_model.msgpack', 'flax_chunked_root.msgpack']) {
  test(`msgpack: serialising the restored ${name} gives Flax's bytes exactly`, (t) => {
    const f = file(name)
    if (!loadable(f)) return void t.throws(() => serialization.msgpackRestore(bytesOf(name)), { code: 'E_DTYPE' })
    const tree = serialization.msgpackRestore(bytesOf(name))
    // to_bytes keeps insertion order; msgpack_serialize (not in place) sorts the keys
    const again = serialization.msgpackSerialize(tree, { maxChunkSize: f.chunk_size, inPlace: !f.sorted_keys })
    t.is(createHash('sha256').update(again).digest('hex'), f.sha256)
  })
}

test('msgpack: toBytes of a flaxen model equals to_bytes of the same values (flax_params.msgpack)', (t) => {
  if (!loadable(file('flax_params.msgpack'))) return void t.throws(() => serialization.msgpackRestore(bytesOf('flax_params.msgpack')), { code: 'E_DTYPE' })
  const restored = serialization.msgpackRestore(bytesOf('flax_params.msgpack'))
  t.is(createHash('sha256').update(serialization.toBytes(restored)).digest('hex'), file('flax_params.msgpack').sha256)
  // fromBytes into a template checks every leaf
  const again = serialization.fromBytes(restored, serialization.toBytes(restored))
  t.deepEqual(Object.keys(again), Object.keys(restored))
})

test('msgpack: every leaf kind round-trips: lists, ints beyond 2^53, floats, NaN, -0, strings, bytes, null, booleans', (t) => {
  const tree = { a: [1, 2.5, -0, NaN, Infinity, 2n ** 60n, 'x', null, true, new Uint8Array([1, 2])], t: jnp.array([[1, 2]], 'int32') }
  const back = serialization.msgpackRestore(serialization.msgpackSerialize(tree))
  t.deepEqual(back.a.slice(0, 2), [1, 2.5])
  t.true(Object.is(back.a[2], -0) && Number.isNaN(back.a[3]) && back.a[4] === Infinity)
  t.is(back.a[5], 2n ** 60n)
  t.deepEqual(back.a.slice(6, 9), ['x', null, true])
  t.deepEqual([...back.a[9]], [1, 2])
  t.deepEqual(back.t.toArray(), [[1, 2]])
  t.throws(() => serialization.msgpackSerialize({ f: () => 1 }), { code: 'E_TYPE', message: /\.\/f is/ })
  t.throws(() => serialization.msgpackSerialize({ s: new ShapeDtype() }), { code: 'E_TYPE' })
})
class ShapeDtype {}

test('msgpack from a path: the file is read once; aligned arrays are views of that one buffer', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-msgpack-'))
  try {
    const big = random.normal(random.key(0), [1024, 1024]) // 4 MiB
    const tree = { params: { a: jnp.ones([3], 'int8'), big, c: jnp.arange(5) } }
    const path = join(dir, 'ckpt.msgpack')
    writeFileSync(path, serialization.toBytes(tree))
    const before = native.liveBytes()
    const back = serialization.msgpackRestoreFile(path)
    const grew = native.liveBytes() - before
    // one buffer of the file's size (+ small copies), not file + every array
    t.true(grew < 4 * 2 ** 20 + 64 * 1024, `live bytes grew by ${grew}`)
    t.is(hexOf(back.params.big), hexOf(big))
    t.deepEqual(back.params.c.toArray(), [0, 1, 2, 3, 4])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// ---- safetensors ---------------------------------------------------------------------------

for (const f of manifest.files.filter((f: any) => f.format === 'safetensors')) {
  test(`safetensors: ${f.path} (${f.made_by}) loads exactly, from the file and from its bytes`, (t) => {
    if (f.tensors.some((x: any) => x.dtype === 'U64' && x.hex.startsWith('ffffffff'))) {
      // uint64 max does not fit uint32: refused, naming the tensor and the element
      t.throws(() => safetensors.loadFile(join(DIR, f.path)), { code: 'E_RANGE', message: /tensor 'u64': element 0 is 18446744073709551615/ })
      return
    }
    if (!loadable(f)) {
      t.throws(() => safetensors.loadFile(join(DIR, f.path)), { code: 'E_DTYPE' })
      return
    }
    for (const [tensors, metadata] of [
      [safetensors.loadFile(join(DIR, f.path)), safetensors.loadFileWithMetadata(join(DIR, f.path)).metadata],
      [safetensors.load(bytesOf(f.path)), undefined],
    ] as const) {
      t.deepEqual(Object.keys(tensors), f.tensors.map((x: any) => x.name))
      for (const x of f.tensors) {
        const [dtype, hex] = expectedHex(x.dtype, x.hex)
        t.is(tensors[x.name].dtype as string, dtype, x.name)
        t.deepEqual(tensors[x.name].shape, x.shape, x.name)
        t.is(hexOf(tensors[x.name]), hex, x.name)
      }
      if (metadata !== undefined) t.deepEqual(metadata, f.metadata === null ? null : Object.fromEntries(f.metadata))
    }
  })
}

for (const name of ['st_flax.safetensors', 'st_empty.safetensors', 'st_empty_metadata.safetensors']) {
  test(`safetensors: saving the loaded ${name} gives Python's bytes exactly`, (t) => {
    if (!loadable(file(name))) return void t.throws(() => safetensors.loadFile(join(DIR, name)), { code: 'E_DTYPE' })
    const { tensors, metadata } = safetensors.loadFileWithMetadata(join(DIR, name))
    const again = safetensors.save(tensors, metadata ?? undefined)
    t.is(createHash('sha256').update(again).digest('hex'), file(name).sha256)
  })
}

test('safetensors: Flax-style flattening with "." and back; WeightNorm\'s "/" names survive', (t) => {
  const m = new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 3 }) })
  const v = m.init(random.key(0), jnp.ones([2, 4]))
  const flat = safetensors.load(safetensors.save(v))
  t.true(Object.keys(flat).some((k) => k.includes('/')), Object.keys(flat).join(' '))
  const { traverseUtil } = require('../ts/index')
  const nested = traverseUtil.unflattenDict(flat, { sep: '.' })
  const x = jnp.ones([2, 4])
  t.is(hexOf(m.apply(nested, x) as Tensor), hexOf(m.apply(v, x) as Tensor))
  t.throws(() => safetensors.save({ a: { 'b.c': jnp.ones([1]) } }), { code: 'E_ARG', message: /contains '\.'/ })
  t.throws(() => safetensors.save({ a: 3 as any }), { code: 'E_TYPE' })
})

test('safetensors.loadFile maps the file: no copy (live bytes flat), writes through .data stay private', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-st-'))
  try {
    const path = join(dir, 'w.safetensors')
    safetensors.saveFile({ w: random.normal(random.key(1), [2048, 2048]), b: jnp.ones([7]) }, path) // 16 MiB
    const onDisk = readFileSync(path)
    const before = native.liveBytes()
    const w = safetensors.loadFile(path)
    t.true(native.liveBytes() - before < 1024, 'the mapped tensors are not allocations')
    t.is(w.w.shape.join('x'), '2048x2048')
    const view = w.w.data as Float32Array
    const first = view[0]
    view[0] = first + 1
    t.is((w.w.data as Float32Array)[0], first + 1)
    t.true(readFileSync(path).equals(onDisk), 'the file is unchanged')
    // a second load sees the file's value, not the first load's private write
    t.is((safetensors.loadFile(path).w.data as Float32Array)[0], first)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('sharded checkpoints: *.index.json for safetensors and flax_model.msgpack', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-shards-'))
  try {
    const a = jnp.arange(4)
    const b = jnp.ones([2, 2])
    safetensors.saveFile({ 'x.a': a }, join(dir, 'model-00001-of-00002.safetensors'))
    safetensors.saveFile({ 'x.b': b }, join(dir, 'model-00002-of-00002.safetensors'))
    const index = { metadata: { total_size: 32 }, weight_map: { 'x.a': 'model-00001-of-00002.safetensors', 'x.b': 'model-00002-of-00002.safetensors' } }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index))
    const st = safetensors.loadFile(join(dir, 'model.safetensors.index.json'))
    t.deepEqual(Object.keys(st).sort(), ['x.a', 'x.b'])
    t.deepEqual(st['x.b'].toArray(), [[1, 1], [1, 1]])

    writeFileSync(join(dir, 'flax_model-00001-of-00002.msgpack'), serialization.toBytes({ enc: { a } }))
    writeFileSync(join(dir, 'flax_model-00002-of-00002.msgpack'), serialization.toBytes({ dec: { b } }))
    writeFileSync(join(dir, 'flax_model.msgpack.index.json'), JSON.stringify({ weight_map: { 'enc/a': 'flax_model-00001-of-00002.msgpack', 'dec/b': 'flax_model-00002-of-00002.msgpack' } }))
    const mp = serialization.msgpackRestoreFile(join(dir, 'flax_model.msgpack.index.json'))
    t.deepEqual(Object.keys(mp).sort(), ['dec', 'enc'])
    t.deepEqual(mp.enc.a.toArray(), [0, 1, 2, 3])

    writeFileSync(join(dir, 'bad.index.json'), JSON.stringify({ weight_map: { a: '../etc/passwd' } }))
    t.throws(() => safetensors.loadFile(join(dir, 'bad.index.json')), { code: 'E_ARG', message: /shards are file names/ })
    t.throws(() => safetensors.loadFile(join(dir, 'missing.safetensors')), { code: 'ENOENT' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('hostile bytes end in coded errors naming the rule', (t) => {
  t.throws(() => safetensors.load(new Uint8Array([1, 2, 3])), { code: 'E_SAFETENSORS_HEADER_TOO_SMALL' })
  t.throws(() => serialization.msgpackRestore(new Uint8Array([0xc1])), { code: 'E_MSGPACK_INVALID_BYTE' })
  t.throws(() => serialization.msgpackRestore('x' as any), { code: 'E_TYPE' })
  const deep = new Uint8Array(100_000).fill(0x91) // [[[[...
  t.throws(() => serialization.msgpackRestore(deep), { code: 'E_MSGPACK_TOO_DEEP' })
})

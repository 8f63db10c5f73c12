"""Golden weights files from the real libraries (issue 11): Flax msgpack written by
flax.serialization (Flax 0.12.8, JAX 0.10.2) and safetensors written by the Python safetensors
library (0.8.0; its numpy, flax and torch front ends), plus a manifest describing what each file
holds, as Python reads it back. Run with the venv that has them:

    python scripts/golden/weights_files.py            # writes __test__/golden/weights/

Every file but st_names.safetensors comes out the same on each run; that one has four metadata
keys, which the library writes in its Rust hash map's (per-process random) order, so the tests take
the order from the manifest (our writer keeps the order it is given).

The tests never run Python: they parse these files, compare with manifest.json, and re-serialize
the trees / tensor dicts to the same bytes.

Manifest (manifest.json):
  files[]: {path, format: 'msgpack'|'safetensors', made_by, size, sha256, ...}
  msgpack: chunk_size (Flax's MAX_CHUNK_SIZE when written), sorted_keys (msgpack_serialize's
    default copy sorts dict keys; to_bytes keeps insertion order), chunked (paths of arrays
    that were chunked), tree = the tree msgpack_restore returns:
      {"map": [[key, node], ...]} | {"list": [node, ...]} | {"nil": null} | {"bool": b} |
      {"int": n} | {"float": "<f64 bits hex>"} | {"str": s} | {"bytes": "<hex>"} |
      {"complex": ["<re bits>", "<im bits>"]} |
      {"ndarray": {"dtype": numpy name, "shape": [...], "scalar": bool, "hex": "<C-order bytes>"}}
  safetensors: metadata ([[k, v], ...] in header order, or null), header_order (tensor names in
    header order), tensors[]: {name, dtype (safetensors name), shape, data_offsets, hex}.
  conversions: float32 bit patterns and their bfloat16 / float16 bits as ml_dtypes / numpy round
    them (nearest even), and the float32 bits of every bfloat16 / float16 value back.
"""

import hashlib
import json
import os
import struct
import sys

import flax
import flax.linen as nn
import flax.serialization as ser
import jax
import jax.numpy as jnp
import ml_dtypes
import msgpack
import numpy as np
import safetensors
import safetensors.flax
import safetensors.numpy
import safetensors.torch
import torch
from flax.traverse_util import flatten_dict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
OUT = os.path.join(ROOT, '__test__', 'golden', 'weights')


def fbits(x):
  return struct.pack('>d', float(x)).hex()


def enc(x):
  """The tree msgpack_restore returned, as manifest JSON."""
  if isinstance(x, dict):
    return {'map': [[k, enc(v)] for k, v in x.items()]}
  if isinstance(x, list):
    return {'list': [enc(v) for v in x]}
  if isinstance(x, (np.ndarray, np.generic)):  # first: np.float64 is a float subclass
    a = np.asarray(x)
    return {'ndarray': {'dtype': a.dtype.name, 'shape': list(a.shape),
                        'scalar': isinstance(x, np.generic), 'hex': a.tobytes('C').hex()}}
  if x is None:
    return {'nil': None}
  if isinstance(x, bool):
    return {'bool': x}
  if isinstance(x, int):
    return {'int': x}
  if isinstance(x, float):
    return {'float': fbits(x)}
  if isinstance(x, str):
    return {'str': x}
  if isinstance(x, bytes):
    return {'bytes': x.hex()}
  if isinstance(x, complex):
    return {'complex': [fbits(x.real), fbits(x.imag)]}
  raise TypeError(type(x))


def sha(b):
  return hashlib.sha256(b).hexdigest()


files = []


def write(name, data):
  with open(os.path.join(OUT, name), 'wb') as f:
    f.write(data)
  os.chmod(os.path.join(OUT, name), 0o644)  # save_file's temp file is 0600
  return {'path': name, 'size': len(data), 'sha256': sha(data)}


def add_msgpack(name, data, made_by, chunk_size=ser.MAX_CHUNK_SIZE, sorted_keys=False, chunked=()):
  e = write(name, data)
  restored = ser.msgpack_restore(data)
  e.update(format='msgpack', made_by=made_by, chunk_size=chunk_size, sorted_keys=sorted_keys,
           chunked=list(chunked), tree=enc(restored))
  files.append(e)


def add_safetensors(name, data, made_by, loaded):
  """`loaded`: {name: np array (or raw bytes)} as the library's own loader returned it."""
  e = write(name, data)
  n = struct.unpack('<Q', data[:8])[0]
  header = json.loads(data[8:8 + n].decode('utf-8'), object_pairs_hook=list)
  meta = None
  order = []
  tensors = []
  for k, v in header:
    if k == '__metadata__':
      meta = [list(p) for p in v]
      continue
    info = dict(v)
    b, t = info['data_offsets']
    raw = data[8 + n + b:8 + n + t]
    # cross-check against what the library itself loaded
    got = loaded[k]
    got = got if isinstance(got, bytes) else np.ascontiguousarray(got).tobytes()
    assert got == raw, k
    order.append(k)
    tensors.append({'name': k, 'dtype': info['dtype'], 'shape': info['shape'],
                    'data_offsets': [b, t], 'hex': raw.hex()})
  with safetensors.safe_open(os.path.join(OUT, name), framework='np') as f:
    assert sorted(f.keys()) == sorted(order)
    lib_meta = f.metadata()
  assert (lib_meta is None) == (meta is None) and (meta is None or dict(meta) == lib_meta)
  e.update(format='safetensors', made_by=made_by, metadata=meta, header_order=order, tensors=tensors)
  files.append(e)


def rng(seed):
  return np.random.default_rng(seed)


def msgpack_files():
  r = rng(0)
  # Every array dtype Flax checkpoints hold, numpy scalars, Python leaves, a list.
  tree = {
      'f32': r.standard_normal((2, 3)).astype(np.float32),
      'bf16': jnp.asarray(r.standard_normal((4,)), dtype=jnp.bfloat16),
      'f16': r.standard_normal((2, 2)).astype(np.float16),
      'i8': np.array([-128, -1, 0, 1, 127], np.int8),
      'u8': np.array([0, 7, 255], np.uint8),
      'bool': np.array([[True, False], [False, True]]),
      'i32': jnp.array([-2**31, 0, 2**31 - 1], dtype=jnp.int32),
      'i64': np.array([-2**63, 2**63 - 1], np.int64),
      'u32': np.array([0, 2**32 - 1], np.uint32),
      'f64': np.array([np.pi, -0.0, np.inf], np.float64),
      'c64': np.array([1 + 2j, -3.5j], np.complex64),
      'nan_f32': np.array([np.nan, -np.inf, 1e-45], np.float32),
      'empty': np.zeros((0, 3), np.float32),
      'zero_d': np.array(2.5, np.float32),
      'long_vec': np.arange(300, dtype=np.int16),  # bin16 and ext16
      'np_scalars': {
          'f32': np.float32(1.5),
          'f64': np.float64(-2.25),
          'i64': np.int64(-7),
          'u8': np.uint8(200),
          'bool': np.bool_(True),
          'bf16': ml_dtypes.bfloat16(0.5),
          'f16': np.float16(0.1),
      },
      'py': {
          'int': 7, 'neg': -300, 'negfix': -5, 'i8min': -128, 'i16': -40000, 'u8': 200,
          'u16': 60000, 'u32': 2**32 - 1, 'i64min': -2**63, 'big': 2**40, 'huge': 2**64 - 1,
          'float': 0.1, 'float_int': 3.0, 'nan': float('nan'), 'str': 'héllo wörld',
          'long_str': 'x' * 40, 'empty_str': '', 'true': True, 'false': False, 'none': None,
          'bytes': b'\x00\x01\xff', 'complex': 1.5 - 2j,
      },
      'list': [1, 2.5, np.array([1, 2], np.int32), 'three', None, [True, {'k': 'v'}]],
      'tuple': (np.float32(3.0), 4),
      'empty_dict': {},
      'a/b': {'weird key': np.ones((1,), np.float32), '': 0, 'ünï': 1},
  }
  add_msgpack('flax_dtypes.msgpack', ser.to_bytes(tree), 'flax.serialization.to_bytes')

  # A real linen model's variables (params + batch_stats), float32 and bfloat16 params.
  class Net(nn.Module):
    @nn.compact
    def __call__(self, x, ids, train=False):
      e = nn.Embed(10, 4, name='embed')(ids)
      x = nn.Conv(3, (3, 3), name='conv')(x)
      x = nn.BatchNorm(use_running_average=not train, name='bn')(x)
      x = x.reshape((x.shape[0], -1))
      x = nn.Dense(4, param_dtype=jnp.bfloat16, name='dense_bf16')(x)
      x = nn.LayerNorm(name='ln')(x + e.sum(1))
      x = nn.Dense(2, param_dtype=jnp.float16, name='dense_f16')(x)
      return nn.Dense(2, use_bias=False, name='head')(x)

  v = Net().init(jax.random.key(0), jnp.ones((1, 4, 4, 2)), jnp.array([[1, 2]]))
  add_msgpack('flax_params.msgpack', ser.to_bytes(v), 'flax.serialization.to_bytes(Net().init(...))')
  params_for_st = v

  # Chunked arrays: MAX_CHUNK_SIZE patched to 64 bytes.
  old = ser.MAX_CHUNK_SIZE
  ser.MAX_CHUNK_SIZE = 64
  try:
    r = rng(1)
    tree = {
        'big': r.standard_normal((5, 7)).astype(np.float32),  # 140 B: 16 per chunk, 3 chunks
        'small': np.arange(16, dtype=np.float32),  # 64 B: not chunked (not over)
        'nested': {'w': np.arange(100, dtype=np.int8),  # 64 per chunk, 2 chunks
                   'bf': jnp.asarray(r.standard_normal((50,)), jnp.bfloat16),
                   's': np.float64(1.0)},  # scalars never chunk
        'in_list': [np.arange(40, dtype=np.float32)],  # lists are not chunked
        'exact': np.arange(17, dtype=np.float32),  # 68 B: chunks of 16 and 1
    }
    add_msgpack('flax_chunked.msgpack', ser.to_bytes(tree), 'flax.serialization.to_bytes, MAX_CHUNK_SIZE=64',
                chunk_size=64, chunked=['big', 'nested/w', 'nested/bf', 'exact'])
    root = r.standard_normal((3, 10)).astype(np.float32)
    add_msgpack('flax_chunked_root.msgpack', ser.msgpack_serialize(root),
                'flax.serialization.msgpack_serialize(array), MAX_CHUNK_SIZE=64', chunk_size=64,
                sorted_keys=True, chunked=[''])
  finally:
    ser.MAX_CHUNK_SIZE = old

  # msgpack_serialize (not in place): keys come out sorted, lists stay msgpack arrays.
  tree = {'z': 1, 'a': [np.float32(2.0), np.arange(3, dtype=np.uint16), 'x', None, [1, [2]]],
          'm': {'b': 1.0, 'a': True, 'C': 'upper'}, 'B': b'', 'é': -1}
  add_msgpack('flax_msgpack_serialize.msgpack', ser.msgpack_serialize(tree),
              'flax.serialization.msgpack_serialize', sorted_keys=True)

  # Hugging Face style flax_model.msgpack: to_bytes(params), no top-level 'params' key,
  # FlaxGPT2 layout (Conv1D kernels stored (features, in)).
  class Conv1D(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x):
      k = self.param('kernel', nn.initializers.normal(0.02), (self.features, x.shape[-1]))
      b = self.param('bias', nn.initializers.zeros, (self.features,))
      return x @ k.T + b

  class Block(nn.Module):
    @nn.compact
    def __call__(self, x):
      d = x.shape[-1]
      h = nn.LayerNorm(epsilon=1e-5, name='ln_1')(x)
      qkv = Conv1D(3 * d, name='c_attn')(h)
      x = x + Conv1D(d, name='c_proj')(qkv[..., :d])
      h = nn.LayerNorm(epsilon=1e-5, name='ln_2')(x)
      h = Conv1D(4 * d, name='c_fc')(h)
      return x + Conv1D(d, name='c_proj_mlp')(jax.nn.gelu(h))

  class Attn(nn.Module):
    @nn.compact
    def __call__(self, x):
      d = x.shape[-1]
      qkv = Conv1D(3 * d, name='c_attn')(x)
      return Conv1D(d, name='c_proj')(qkv[..., :d])

  class Mlp(nn.Module):
    @nn.compact
    def __call__(self, x):
      d = x.shape[-1]
      return Conv1D(d, name='c_proj')(jax.nn.gelu(Conv1D(4 * d, name='c_fc')(x)))

  class GPT2Block(nn.Module):
    @nn.compact
    def __call__(self, x):
      x = x + Attn(name='attn')(nn.LayerNorm(epsilon=1e-5, name='ln_1')(x))
      return x + Mlp(name='mlp')(nn.LayerNorm(epsilon=1e-5, name='ln_2')(x))

  class Blocks(nn.Module):
    n: int

    @nn.compact
    def __call__(self, x):
      for i in range(self.n):
        x = GPT2Block(name=str(i))(x)
      return x

  class Transformer(nn.Module):
    @nn.compact
    def __call__(self, ids):
      x = nn.Embed(16, 8, name='wte')(ids) + nn.Embed(8, 8, name='wpe')(jnp.arange(ids.shape[-1]))
      x = Blocks(2, name='h')(x)
      return nn.LayerNorm(epsilon=1e-5, name='ln_f')(x)

  class LM(nn.Module):
    @nn.compact
    def __call__(self, ids):
      return Transformer(name='transformer')(ids)

  p = LM().init(jax.random.key(1), jnp.zeros((1, 4), jnp.int32))['params']
  add_msgpack('flax_model.msgpack', ser.to_bytes(p), 'transformers-style to_bytes(params) of a tiny GPT-2 layout')
  return params_for_st


def safetensors_files(variables):
  r = rng(2)
  # Every dtype through the numpy front end (bfloat16 and float8 via ml_dtypes), 0-d and empty.
  t = {
      'f64': r.standard_normal((2, 2)),
      'f32': r.standard_normal((3,)).astype(np.float32),
      'f16': r.standard_normal((2, 3)).astype(np.float16),
      'bf16': r.standard_normal((5,)).astype(ml_dtypes.bfloat16),
      'i64': np.array([-2**63, 2**63 - 1, 5], np.int64),
      'u64': np.array([2**64 - 1, 0], np.uint64),
      'i32': np.array([-2**31, 2**31 - 1], np.int32),
      'u32': np.array([2**32 - 1], np.uint32),
      'i16': np.array([-32768, 32767, 1], np.int16),
      'u16': np.array([65535], np.uint16),
      'i8': np.array([-128, 127], np.int8),
      'u8': np.array([[1, 2], [3, 4]], np.uint8),
      'bool': np.array([True, False, True]),
      'c64': np.array([1 - 1j], np.complex64),
      'f8_e4m3': np.array([0.5, -2.0], ml_dtypes.float8_e4m3fn),
      'f8_e5m2': np.array([1.0, 0.25, -8.0], ml_dtypes.float8_e5m2),
      'scalar': np.array(7.0, np.float32),
      'empty': np.zeros((0, 4), np.float32),
      'also_empty': np.zeros((2, 0), np.int32),
  }
  data = safetensors.numpy.save(t, metadata={'format': 'np'})
  loaded = {k: v.tobytes() for k, v in t.items()}
  add_safetensors('st_numpy_all.safetensors', data, 'safetensors.numpy.save(metadata={"format": "np"})', loaded)

  # Through safetensors.flax.save_file: a flattened linen params tree ('.'-joined), bf16/f16 params.
  flat = flatten_dict(jax.device_get(variables), sep='.')
  path = os.path.join(OUT, 'st_flax.safetensors')
  safetensors.flax.save_file(flat, path, metadata={'format': 'flax'})
  with open(path, 'rb') as f:
    data = f.read()
  loaded = {k: np.asarray(v) for k, v in safetensors.flax.load_file(path).items()}
  add_safetensors('st_flax.safetensors', data, 'safetensors.flax.save_file(flatten_dict(variables, sep="."))', loaded)

  # A PyTorch state_dict (format 'pt'): Linear, Conv2d, BatchNorm2d, Embedding, LayerNorm.
  torch.manual_seed(0)
  m = torch.nn.ModuleDict({
      'fc': torch.nn.Linear(4, 3),
      'conv': torch.nn.Conv2d(2, 3, 3),
      'bn': torch.nn.BatchNorm2d(3),
      'emb': torch.nn.Embedding(10, 4),
      'ln': torch.nn.LayerNorm(4),
  })
  m['bn'].running_mean.uniform_()
  m['bn'].num_batches_tracked.fill_(3)
  sd = m.state_dict()
  path = os.path.join(OUT, 'st_torch.safetensors')
  safetensors.torch.save_file(sd, path, metadata={'format': 'pt'})
  with open(path, 'rb') as f:
    data = f.read()
  loaded = {k: v.contiguous().numpy().tobytes() for k, v in safetensors.torch.load_file(path).items()}
  add_safetensors('st_torch.safetensors', data, 'safetensors.torch.save_file(ModuleDict(...).state_dict())', loaded)

  # Names that need JSON escapes, '/' (WeightNorm params), unicode; several metadata keys (their
  # order is the writer's hash map's: the manifest records the order found in the file).
  t = {'a/b.kernel': np.ones((2,), np.float32), 'q"uo\\te': np.zeros((1,), np.int8),
       'tab\there\n': np.array([1], np.uint8), 'ünï€😀': np.array([2.0], np.float16),
       'ctl\x01\x1f\x7f': np.array([True]), 'B': np.array([1], np.int64), 'a': np.array([2], np.int64)}
  data = safetensors.numpy.save(t, metadata={'format': 'np', 'k"ey': 'v\\al\n', 'ü': '€', 'empty': ''})
  add_safetensors('st_names.safetensors', data, 'safetensors.numpy.save with escaped names and 4 metadata keys',
                  {k: v.tobytes() for k, v in t.items()})

  data = safetensors.numpy.save({})
  add_safetensors('st_empty.safetensors', data, 'safetensors.numpy.save({})', {})
  data = safetensors.numpy.save({'x': np.zeros((3,), np.float32)}, metadata={})
  add_safetensors('st_empty_metadata.safetensors', data, 'safetensors.numpy.save(metadata={})', {'x': bytes(12)})


def conversions():
  f32 = np.array([0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, 65504.0, 65520.0, 1e-8, 6e-8, 3e-5, 1e38, 3.4e38,
                  np.inf, -np.inf, np.float32(np.finfo(np.float32).max), np.float32(1e-45),
                  np.float32(1.17549435e-38)], np.float32)
  bits = f32.view(np.uint32).tolist()
  # ties and near-ties of bf16 (bit 16 rounding) and f16, NaNs with payloads
  bits += [0x3f808000, 0x3f818000, 0x3f808001, 0x3f80ffff, 0x7f7fffff, 0x7fc00000, 0xffc00001,
           0x7f800001, 0x7fa00000, 0x33000000, 0x33000001, 0x387fc000, 0x38800000, 0x477ff000, 0x477fe000]
  rr = rng(3)
  bits += rr.integers(0, 2**32, 40, dtype=np.uint64).astype(np.uint32).tolist()
  f = np.array(bits, np.uint32).view(np.float32)
  bf = f.astype(ml_dtypes.bfloat16)
  h = f.astype(np.float16)
  all16 = np.arange(0, 2**16, 257, dtype=np.uint32).astype(np.uint16)  # a spread of 16-bit patterns
  return {
      'f32_bits': bits,
      'bf16_bits': bf.view(np.uint16).tolist(),
      'f16_bits': h.view(np.uint16).tolist(),
      'u16_bits': all16.tolist(),
      'bf16_to_f32_bits': all16.view(ml_dtypes.bfloat16).astype(np.float32).view(np.uint32).tolist(),
      'f16_to_f32_bits': all16.view(np.float16).astype(np.float32).view(np.uint32).tolist(),
  }


def main():
  os.makedirs(OUT, exist_ok=True)
  for f in os.listdir(OUT):
    os.remove(os.path.join(OUT, f))
  variables = msgpack_files()
  safetensors_files(variables)
  manifest = {
      'about': __doc__.strip().splitlines()[0],
      'generator': 'scripts/golden/weights_files.py',
      'versions': {'python': sys.version.split()[0], 'jax': jax.__version__, 'flax': flax.__version__,
                   'safetensors': safetensors.__version__, 'msgpack': '.'.join(map(str, msgpack.version)),
                   'numpy': np.__version__, 'ml_dtypes': ml_dtypes.__version__, 'torch': torch.__version__},
      'files': files,
      'conversions': conversions(),
  }
  with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=1, ensure_ascii=False)
    f.write('\n')
  total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
  print(f'{len(files)} files, {total} bytes in {OUT}', file=sys.stderr)


if __name__ == '__main__':
  main()

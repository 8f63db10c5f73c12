"""Golden values for the float16 / bfloat16 dtypes (issue 11, deliverable 1), from real JAX on
CPU. Run with jax 0.10.2 / flax 0.12.8 / ml_dtypes:

    /tmp/venv-i10/bin/python scripts/golden/dtypes_half.py > __test__/golden/dtypes_half.json

Every array is written as its raw little-endian bytes in base64 (`b64`) with its dtype and shape,
so float32, float16 and bfloat16 values (NaN payloads, -0, subnormals) reach the tests bit for
bit. The tests (`__test__/dtypes-half.spec.ts`) never run Python.

What is recorded:
* conversions: float32 → bfloat16 / float16 (`astype`, JAX's) of edge cases and of a strided
  sweep over all float32 bit patterns; every bfloat16 and float16 bit pattern → float32; both
  half dtypes → int32 / uint8 / int8 / uint32 / bool and back from int32; float16 ↔ bfloat16;
  JS numbers (f64) through `jnp.array(x, dtype)`, `jnp.full` and as weak scalars;
* ops on half inputs: elementwise, reductions, softmax family, matmul (incl. mixed dtypes and
  preferred_element_type), promotions;
* jax.random.uniform / normal / truncated_normal in both half dtypes, and the initializers;
* Flax Dense, DenseGeneral, Embed, LayerNorm and RMSNorm with param_dtype / dtype bfloat16 and
  float16: the initialised params and the outputs of apply.
"""

import base64
import hashlib
import json
import sys

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from jax import random

BF16 = jnp.bfloat16
F16 = jnp.float16
HALVES = {'bfloat16': BF16, 'float16': F16}


class Digest:
  """An array recorded by the sha256 of its little-endian bytes."""

  def __init__(self, x):
    self.a = np.array(np.asarray(x), order='C')


def enc(x):
  if isinstance(x, Digest):
    return {'shape': list(x.a.shape), 'dtype': str(x.a.dtype), 'sha256': hashlib.sha256(x.a.tobytes()).hexdigest()}
  if isinstance(x, dict):
    return {str(k): enc(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [enc(v) for v in x]
  if isinstance(x, (str, bool, int, float)) or x is None:
    return x
  a = np.array(np.asarray(x), order='C')
  dtype = str(a.dtype)
  if a.dtype == np.bool_:
    a = a.astype(np.uint8)
  return {'shape': list(a.shape), 'dtype': dtype, 'b64': base64.b64encode(a.tobytes()).decode('ascii')}


def f32_bits(bits):
  return np.array(bits, dtype=np.uint32).view(np.float32)


def conversions():
  out = {}
  # float32 edge cases: ties at every rounding position, NaN payloads (quiet and signalling,
  # both signs), inf, float16 overflow (65504 is the largest, 65520 the tie to inf), float16
  # subnormals and the underflow ties, -0, float32 subnormals, bfloat16 overflow to inf.
  edge = [
      0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
      0x7fc00000, 0xffc00000, 0x7f800001, 0x7fc00001, 0xffc12345, 0x7fa00000, 0x7f812345,
      0xff800001, 0x7fbfffff, 0x7f802000, 0x7fffe000, 0xffffffff,
      0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff, 0x3f80c000, 0xbf808000, 0xbf818000,
      0x3f801000, 0x3f803000, 0x3f801001, 0x3f800fff,
      0x477fe000, 0x477fefff, 0x477ff000, 0x477ff001, 0x477fffff, 0x47800000, 0xc77ff000,
      0x7f7fffff, 0x7f7f7fff, 0x7f7f8000, 0x7f7f8001, 0xff7fffff,
      0x38800000, 0x387fe000, 0x387ff000, 0x387fc000, 0x33800000, 0x33000000, 0x33000001,
      0x32ffffff, 0x33400000, 0x33c00000, 0x34000000, 0x34400000, 0x35000000, 0xb3000001,
      0x00000001, 0x00008000, 0x00018000, 0x007fffff, 0x00800000, 0x80000001, 0x0000c000,
      0x3e99999a, 0x3dcccccd, 0x40490fdb, 0xc0490fdb, 0x4b000001, 0x4b800001,
  ]
  x = f32_bits(edge)
  # A strided sweep over every float32 bit pattern (about 2^14 values).
  sweep = f32_bits(np.arange(0, 2**32, 262139, dtype=np.uint64).astype(np.uint32))
  for name, v in [('edge', x), ('sweep', sweep)]:
    out[f'f32_{name}'] = v
    for h, dt in HALVES.items():
      out[f'f32_{name}_to_{h}'] = jnp.asarray(v).astype(dt)
  # Every half bit pattern (0..65535 in order) to float32, and float16 <-> bfloat16 directly:
  # written as the sha256 of the result's bytes (the arrays would be 1 MB of JSON).
  allbits = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
  out['all_bf16_to_f32'] = Digest(jnp.asarray(allbits.view(ml_dtypes.bfloat16)).astype(jnp.float32))
  out['all_f16_to_f32'] = Digest(jnp.asarray(allbits.view(np.float16)).astype(jnp.float32))
  out['all_bf16_to_f16'] = Digest(jnp.asarray(allbits.view(ml_dtypes.bfloat16)).astype(F16))
  out['all_f16_to_bf16'] = Digest(jnp.asarray(allbits.view(np.float16)).astype(BF16))
  # Integers into half dtypes (XLA goes through float32: int -> bfloat16 rounds twice).
  ints = np.array([0, 1, -1, 2, 255, 256, 257, 258, 2049, 2051, 65504, 65519, 65520, 70000, -70000,
                   16777217, 16777217 + 1025, (1 << 24) + (1 << 16) + 1, 2**31 - 1, -2**31,
                   123456789, -987654321], dtype=np.int32)
  out['ints'] = ints
  for h, dt in HALVES.items():
    out[f'ints_to_{h}'] = jnp.asarray(ints).astype(dt)
  out['u32'] = np.array([0, 1, 4294967295, 2**31 + 2**23 + 1, 65535, 3000000000], dtype=np.uint32)
  for h, dt in HALVES.items():
    out[f'u32_to_{h}'] = jnp.asarray(out['u32']).astype(dt)
    out[f'u8_to_{h}'] = jnp.asarray(np.arange(256, dtype=np.uint8)).astype(dt)
    out[f'bool_to_{h}'] = jnp.asarray(np.array([True, False])).astype(dt)
  # Half dtypes to integers and bool: truncation toward zero, saturation, NaN -> 0.
  vals = np.array([np.nan, -np.nan, np.inf, -np.inf, 3.9e9, -3e9, 65504, -65504, -1.5, 2.5, 300, -0.0,
                   0.0, 0.75, -0.75, 127.5, 128, -129, 255.9, 1e-7, 6e-8], dtype=np.float32)
  for h, dt in HALVES.items():
    hv = jnp.asarray(vals).astype(dt)
    out[f'{h}_vals'] = hv
    for to in ['int32', 'uint32', 'int8', 'uint8', 'uint16', 'bool']:
      out[f'{h}_vals_to_{to}'] = hv.astype(to)
  # JS numbers (f64): jnp.array(values, dtype) (numpy's conversion: float16 directly, bfloat16
  # through float32), jnp.full, and weak scalars in an op (through float32 for both).
  f64 = [1 + 2**-8 + 2**-30, 1 + 2**-11 + 2**-30, 0.1, -0.1, 1/3, 65519.99, 65520.0, 1e-8, 2**-25,
         2**-25 * (1 + 2**-40), 5.960464477539063e-08, 3.0e38, 3.4e38, -0.0, 1e300, -1e-300,
         0.999999999, 2.0000001, 123.456, -7.77]
  out['f64'] = f64
  for h, dt in HALVES.items():
    out[f'f64_array_{h}'] = jnp.array(f64, dtype=dt)
    out[f'f64_full_{h}'] = jnp.stack([jnp.full((), v, dtype=dt) for v in f64])
    out[f'f64_weak_{h}'] = jnp.stack([jnp.zeros((), dt) + v for v in f64])
  return out


def half_inputs(rng, dt, n, scale):
  return jnp.asarray((rng.standard_normal(n) * scale).astype(np.float32)).astype(dt)


def ops():
  out = {}
  rng = np.random.default_rng(11)
  for h, dt in HALVES.items():
    o = {}
    x = half_inputs(rng, dt, (6, 40), 3.0)
    y = half_inputs(rng, dt, (6, 40), 2.0)
    pos = jnp.abs(x) + jnp.asarray(0.01, dt)
    o['x'], o['y'], o['pos'] = x, y, pos
    o['add'] = x + y
    o['subtract'] = x - y
    o['multiply'] = x * y
    o['divide'] = x / y
    o['divide_3'] = x / 3.0
    o['divide_07'] = x / 0.7
    o['rdivide_3'] = 3.0 / x
    o['maximum'] = jnp.maximum(x, y)
    o['add_weak_01'] = x + 0.1
    o['mul_weak_01'] = x * 0.1
    o['add_weak_2'] = x + 2
    o['power_3'] = x ** 3
    o['power_5'] = x ** 5
    o['power_m2'] = x ** -2
    o['power_15'] = pos ** 1.5
    o['remainder'] = jnp.remainder(x, y)
    o['floor_divide'] = jnp.floor_divide(x, y)
    o['floor_divide_07'] = jnp.floor_divide(x, 0.7)
    for f in ['exp', 'tanh', 'sin', 'cos', 'expm1', 'abs', 'negative', 'square', 'floor', 'ceil', 'sign']:
      o[f] = getattr(jnp, f)(x)
    for f in ['log', 'sqrt', 'log1p', 'reciprocal']:
      o[f] = getattr(jnp, f)(pos)
    o['rsqrt'] = jax.lax.rsqrt(pos)
    o['erf'] = jax.lax.erf(x)
    o['round'] = jnp.round(x)
    o['round_1'] = jnp.round(x, 1)
    o['sigmoid'] = jax.nn.sigmoid(x)
    o['silu'] = jax.nn.silu(x)
    o['gelu'] = jax.nn.gelu(x)
    o['gelu_exact'] = jax.nn.gelu(x, approximate=False)
    o['relu'] = jax.nn.relu(x)
    o['sum'] = jnp.sum(x)
    o['sum_1'] = jnp.sum(x, axis=1)
    o['mean_1'] = jnp.mean(x, axis=1)
    o['mean_0'] = jnp.mean(x, axis=0)
    o['max_1'] = jnp.max(x, axis=1)
    o['var_1'] = jnp.var(x, axis=1)
    o['std_1'] = jnp.std(x, axis=1)
    o['prod_1'] = jnp.prod(1 + x * 0.05, axis=1)
    o['argmax_1'] = jnp.argmax(x, axis=1).astype(jnp.int32)
    o['softmax'] = jax.nn.softmax(x)
    o['softmax_0'] = jax.nn.softmax(x, axis=0)
    o['log_softmax'] = jax.nn.log_softmax(x)
    o['logsumexp_1'] = jax.nn.logsumexp(x, axis=1)
    o['cumsum'] = jnp.cumsum(x.reshape(-1))
    o['cumsum_1'] = jnp.cumsum(x, axis=1)
    o['cumprod_1'] = jnp.cumprod(1 + x * 0.05, axis=1)
    o['less'] = x < y
    o['equal_weak'] = x == 0.1
    o['where'] = jnp.where(x > 0, x, y)
    o['where_weak'] = jnp.where(x > 0, x, 0.1)
    o['isnan'] = jnp.isnan(x / 0.0 * 0.0)
    o['take'] = jnp.take(x, jnp.array([3, 0, -1, 9], dtype=jnp.int32), axis=0)
    o['transpose'] = x.T
    o['concat'] = jnp.concatenate([x, y], axis=0)
    # Promotion with other dtypes.
    f = jnp.asarray(rng.standard_normal((6, 40)).astype(np.float32))
    i = jnp.asarray(rng.integers(-300, 300, (6, 40)).astype(np.int32))
    o['f32'], o['i32'] = f, i
    o['add_f32'] = x + f
    o['add_i32'] = x + i
    o['mul_i32'] = i * x
    o['add_bool'] = x + (i > 0)
    # matmul: half x half (float32 sums, rounded once), preferred float32, mixed with float32.
    a = half_inputs(rng, dt, (5, 37), 1.0)
    w = half_inputs(rng, dt, (37, 29), 1.0)
    a32 = jnp.asarray(rng.standard_normal((5, 37)).astype(np.float32))
    o['mm_a'], o['mm_w'], o['mm_a32'] = a, w, a32
    o['matmul'] = a @ w
    o['matmul_pref_f32'] = jnp.matmul(a, w, preferred_element_type=jnp.float32)
    o['matmul_f32_w'] = a32 @ w
    b32 = jnp.asarray(rng.standard_normal((37, 7)).astype(np.float32))
    o['mm_b32'] = b32
    o['matmul_a_f32'] = a @ b32
    o['matvec'] = a[0] @ w
    out[h] = o
  # float16 with bfloat16 promotes to float32.
  xb = out['bfloat16']['x']
  xh = out['float16']['x']
  out['mixed_add'] = xb + xh
  out['mixed_mul'] = xb * xh
  out['mixed_matmul'] = out['bfloat16']['mm_a'] @ out['float16']['mm_w']
  return out


def sampling():
  out = {}
  for h, dt in HALVES.items():
    for seed in [0, 7]:
      k = random.key(seed)
      out[f'uniform_{h}_{seed}'] = random.uniform(k, (1000,), dt)
      out[f'uniform_m1_{h}_{seed}'] = random.uniform(k, (300,), dt, -1.0, 2.5)
      out[f'normal_{h}_{seed}'] = random.normal(k, (1000,), dt)
      out[f'truncated_normal_{h}_{seed}'] = random.truncated_normal(k, -2.0, 2.0, (1000,), dt)
      out[f'truncated_normal_01_{h}_{seed}'] = random.truncated_normal(k, 0.0, 1.5, (300,), dt)
    k = random.key(3)
    init = nn.initializers
    out[f'init_uniform_{h}'] = init.uniform(0.5)(k, (4, 9), dt)
    out[f'init_normal_{h}'] = init.normal(0.3)(k, (4, 9), dt)
    out[f'init_truncated_normal_{h}'] = init.truncated_normal(0.7)(k, (4, 9), dt)
    out[f'init_lecun_normal_{h}'] = init.lecun_normal()(k, (13, 9), dt)
    out[f'init_glorot_uniform_{h}'] = init.glorot_uniform()(k, (13, 9), dt)
    out[f'init_he_normal_{h}'] = init.he_normal()(k, (13, 9), dt)
    out[f'init_variance_scaling_normal_{h}'] = init.variance_scaling(2.0, 'fan_avg', 'normal')(k, (13, 9), dt)
  return out


def layers():
  out = {}
  rng = np.random.default_rng(12)
  x = jnp.asarray(rng.standard_normal((3, 5)).astype(np.float32))
  x3 = jnp.asarray(rng.standard_normal((2, 4, 6)).astype(np.float32))
  out['x'], out['x3'] = x, x3
  for h, dt in HALVES.items():
    o = {}
    # Dense: params in param_dtype; apply with dtype None (promoted: float32 for float32 x)
    # and with dtype=dt.
    d = nn.Dense(7, param_dtype=dt)
    v = d.init(random.key(0), x)
    o['dense_params'] = v
    o['dense_f32_out'] = d.apply(v, x)
    o['dense_half_out'] = nn.Dense(7, param_dtype=dt, dtype=dt).apply(v, x)
    o['dense_half_in_out'] = d.apply(v, x.astype(dt))
    # Dense with float32 params and dtype=dt.
    d32 = nn.Dense(7, dtype=dt)
    v32 = d32.init(random.key(1), x)
    o['dense_f32params'] = v32
    o['dense_f32params_out'] = d32.apply(v32, x)
    # DenseGeneral over two axes.
    dg = nn.DenseGeneral(features=(2, 3), axis=(-2, -1), param_dtype=dt, dtype=dt)
    vg = dg.init(random.key(2), x3)
    o['dense_general_params'] = vg
    o['dense_general_out'] = dg.apply(vg, x3)
    # Embed: lookup in the table's dtype and in float32; attend with a float32 query.
    e = nn.Embed(10, 6, param_dtype=dt)
    idx = jnp.array([[0, 3, 9], [2, -1, 5]], dtype=jnp.int32)
    ve = e.init(random.key(3), idx)
    o['embed_params'] = ve
    o['embed_out'] = e.apply(ve, idx)
    o['embed_out_f32'] = nn.Embed(10, 6, param_dtype=dt, dtype=jnp.float32).apply(ve, idx)
    q = jnp.asarray(rng.standard_normal((2, 6)).astype(np.float32))
    o['embed_query'] = q
    o['embed_attend'] = e.apply(ve, q, method=e.attend)
    o['embed_attend_half'] = nn.Embed(10, 6, param_dtype=dt, dtype=dt).apply(ve, q, method=e.attend)
    # LayerNorm / RMSNorm: statistics in float32, the result in dtype (or promoted).
    xs = jnp.asarray((rng.standard_normal((4, 12)) * 2 + 1).astype(np.float32))
    o['norm_x'] = xs
    ln = nn.LayerNorm(param_dtype=dt)
    vl = ln.init(random.key(4), xs)
    o['layer_norm_params'] = vl
    o['layer_norm_f32_out'] = ln.apply(vl, xs)
    o['layer_norm_half_in'] = ln.apply(vl, xs.astype(dt))
    o['layer_norm_dtype_out'] = nn.LayerNorm(param_dtype=dt, dtype=dt).apply(vl, xs)
    vl2 = {'params': {'scale': jnp.linspace(0.5, 1.5, 12).astype(dt), 'bias': jnp.linspace(-1, 1, 12).astype(dt)}}
    o['layer_norm_params2'] = vl2
    o['layer_norm_params2_out'] = nn.LayerNorm(param_dtype=dt, dtype=dt).apply(vl2, xs)
    rn = nn.RMSNorm(param_dtype=dt, dtype=dt)
    vr = rn.init(random.key(5), xs)
    o['rms_norm_params'] = vr
    o['rms_norm_out'] = rn.apply(vr, xs)
    o['rms_norm_half_in'] = nn.RMSNorm(param_dtype=dt).apply(vr, xs.astype(dt))
    # A small MLP in dtype with params in param_dtype.
    class MLP(nn.Module):
      @nn.compact
      def __call__(self, x):
        x = nn.Dense(8, param_dtype=dt, dtype=dt)(x)
        x = nn.gelu(x)
        x = nn.LayerNorm(param_dtype=dt, dtype=dt)(x)
        return nn.Dense(3, param_dtype=dt, dtype=dt)(x)
    m = MLP()
    vm = m.init(random.key(6), x)
    o['mlp_params'] = vm
    o['mlp_out'] = m.apply(vm, x)
    out[h] = o
  return out


def scenarios():
  return {'conversions': conversions(), 'ops': ops(), 'sampling': sampling(), 'layers': layers()}


if __name__ == '__main__':
  doc = {
      'name': 'dtypes_half',
      'about': 'float16 / bfloat16: conversions, ops, sampling, Flax layers (scripts/golden/dtypes_half.py).',
      'versions': {'jax': jax.__version__, 'flax': flax.__version__, 'ml_dtypes': ml_dtypes.__version__},
      'source': 'scripts/golden/dtypes_half.py',
      'expect': enc(scenarios()),
  }
  json.dump(doc, sys.stdout, separators=(',', ':'))
  sys.stdout.write('\n')

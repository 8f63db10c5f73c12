"""Golden values for the ops added for issue 10 (jnp.sin/cos/log1p/expm1/isnan/isfinite, remainder,
floor_divide, flip, dot/outer/tensordot, take_along_axis, cumsum/cumprod; random.gumbel and
random.categorical), from real JAX on CPU. Run with jax 0.10.2 / flax 0.12.8:

    python scripts/golden/ops_coverage.py > __test__/golden/ops_coverage.json

float32 arrays are written as their uint32 bit patterns (`bits`), so inputs reach the tests
exactly and NaN/inf survive JSON; other arrays as {shape, dtype, data}. Tests never run Python.
XLA's CPU sin/cos call the C library's sinf/cosf: these goldens come from glibc 2.36 (Debian 12)
on an x86-64 CPU with FMA (glibc picks its FMA build there), whose results flaxen reproduces.
"""


import jax
import jax.numpy as jnp
import numpy as np

import golden_doc
from jax import random




def scenarios():
  out = {}
  rng = np.random.default_rng(10)
  f32 = np.float32
  special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.1754944e-38, 1e-30, 1e-8,
                      -1e-8, 5e-4, 0.4999, 0.5, 0.50001, -0.5, 1.0, -1.0, np.pi, -np.pi, np.pi / 2,
                      100.0, -100.0, 88.7, 89.0, -103.0, -104.0, 1e4, 262143.9, 262144.0, 1e6, 3e9,
                      -1e20, 1e30, 3.4e38, -0.9999999, -0.999, 0.41421356, -0.41421356, 0.4142],
                     dtype=f32)
  # Values around every scale the kernels branch on, plus uniform sweeps.
  sweeps = [
      rng.uniform(-10, 10, 1500),
      rng.uniform(-1, 1, 1000),
      rng.uniform(-0.5, 0.5, 500) * 10.0**rng.uniform(-8, 0, 500),
      rng.uniform(-1000, 1000, 500),
      rng.uniform(-2e5, 2e5, 300),
      rng.uniform(-0.999, 3, 500),
  ]
  x = np.concatenate([special] + [s.astype(f32) for s in sweeps]).astype(f32)
  out['x'] = x
  for name in ['sin', 'cos', 'log1p', 'expm1', 'isnan', 'isfinite']:
    out[name] = getattr(jnp, name)(x)

  a = np.concatenate([rng.uniform(-20, 20, 400), [5.0, -5.0, 5.0, -5.0, 0.0, -0.0, 7.5, np.inf, np.nan, 3.0, 1e30, -1e-30]]).astype(f32)
  b = np.concatenate([rng.uniform(-6, 6, 400), [3.0, 3.0, -3.0, -3.0, 2.0, 2.0, 0.0, 2.0, 1.0, np.inf, 3.0, 7.0]]).astype(f32)
  out['fa'], out['fb'] = a, b
  out['remainder_f'] = jnp.remainder(a, b)
  out['floor_divide_f'] = jnp.floor_divide(a, b)
  out['remainder_f_scalar'] = jnp.remainder(a, 3.0)
  out['floor_divide_f_scalar'] = jnp.floor_divide(a, 3.0)
  ia = np.array(list(rng.integers(-50, 50, 60)) + [7, -7, 7, -7, 0, 5, -5, -2**31, -2**31, 2**31 - 1], dtype=np.int32)
  ib = np.array(list(rng.integers(-9, 9, 60)) + [3, 3, -3, -3, 0, 0, 0, -1, 1, -2], dtype=np.int32)
  out['ia'], out['ib'] = ia, ib
  out['remainder_i'] = jnp.remainder(ia, ib)
  out['floor_divide_i'] = jnp.floor_divide(ia, ib)
  out['mod_i_scalar'] = jnp.mod(ia, 4)
  ua = np.array([7, 0, 5, 9, 4294967295], dtype=np.uint32)
  ub = np.array([2, 3, 0, 4, 7], dtype=np.uint32)
  out['ua'], out['ub'] = ua, ub
  out['remainder_u'] = jnp.remainder(ua, ub)
  out['floor_divide_u'] = jnp.floor_divide(ua, ub)

  m = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
  out['flip_all'] = jnp.flip(m)
  out['flip_1'] = jnp.flip(m, 1)
  out['flip_02'] = jnp.flip(m, (0, -1))

  p = rng.standard_normal((5, 7)).astype(f32)
  q = rng.standard_normal((7, 3)).astype(f32)
  v = rng.standard_normal(7).astype(f32)
  w = rng.standard_normal(7).astype(f32)
  t3 = rng.standard_normal((2, 3, 4)).astype(f32)
  t4 = rng.standard_normal((3, 4, 5)).astype(f32)
  out['p'], out['q'], out['v'], out['w'], out['t3'], out['t4'] = p, q, v, w, t3, t4
  out['dot_mm'] = jnp.dot(p, q)
  out['dot_mv'] = jnp.dot(p, v)
  out['dot_vv'] = jnp.dot(v, w)
  out['dot_scalar'] = jnp.dot(p, f32(2.5))
  out['dot_nd'] = jnp.dot(t3, t4)
  out['outer'] = jnp.outer(v, q[:, 0])
  out['tensordot_2'] = jnp.tensordot(t3, t4, axes=2)
  out['tensordot_1'] = jnp.tensordot(t3, t4[0], axes=1)
  out['tensordot_pairs'] = jnp.tensordot(t3, t4, axes=([1, 2], [0, 1]))
  out['tensordot_0'] = jnp.tensordot(v, w[:3], axes=0)

  xa = rng.standard_normal((3, 4)).astype(f32)
  ix = np.array([[0, 3], [-1, 1], [4, -5]], dtype=np.int32)
  out['xa'], out['ix'] = xa, ix
  out['take_along_1'] = jnp.take_along_axis(xa, ix, axis=1)
  out['take_along_0'] = jnp.take_along_axis(xa, np.array([[2, 0, 1, 5]], dtype=np.int32), axis=0)
  out['take_along_none'] = jnp.take_along_axis(xa, np.array([11, 0, -1, 12], dtype=np.int32), axis=None)
  out['take_along_clip'] = jnp.take_along_axis(xa, ix, axis=1, mode='clip')
  srt = jnp.argsort(xa, axis=1).astype(np.int32)
  out['take_along_sorted'] = jnp.take_along_axis(xa, srt, axis=1)
  out['argsort'] = srt

  c = rng.uniform(-1, 1, 1000).astype(f32)
  c2 = rng.uniform(0.5, 1.5, (3, 40)).astype(f32)
  out['c'], out['c2'] = c, c2
  out['cumsum'] = jnp.cumsum(c)
  out['cumsum_0'] = jnp.cumsum(c2, axis=0)
  out['cumsum_1'] = jnp.cumsum(c2, axis=1)
  out['cumprod_1'] = jnp.cumprod(c2, axis=1)
  out['cumprod_none'] = jnp.cumprod(c2)
  out['cumsum_i'] = jnp.cumsum(ia)
  out['cumprod_i'] = jnp.cumprod(ia[:12])
  out['cumsum_bool'] = jnp.cumsum(np.array([True, False, True, True]))

  out['gumbel'] = random.gumbel(random.key(0), (5, 7))
  out['gumbel_big'] = random.gumbel(random.key(3), (2000,))
  logits = rng.standard_normal((4, 6)).astype(f32)
  out['logits'] = logits
  out['categorical'] = random.categorical(random.key(1), logits)
  out['categorical_axis0'] = random.categorical(random.key(2), logits, axis=0)
  out['categorical_shape'] = random.categorical(random.key(5), logits, shape=(3, 4))
  out['categorical_1d'] = random.categorical(random.key(7), jnp.log(jnp.array([0.1, 0.2, 0.7])), shape=(2000,))

  # sin, cos, exp, expm1, tanh at their edges (own generator, so the draws above stay put):
  # every threshold the kernels branch on and its float32 neighbours, subnormals, the largest
  # floats, floats nearest multiples of pi/2, and random bit patterns (any exponent, NaN payloads).
  rng2 = np.random.default_rng(1010)
  around = lambda v: [np.nextafter(f32(v), f32(-np.inf)), f32(v), np.nextafter(f32(v), f32(np.inf))]
  edges = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 1e-40, 1.1754942e-38, 2**-126, 2**-125, 2.5e-38,
           2**-12, 1e-5, 4e-4, 0.5, 0.75, np.pi / 4, 1.0, 2.0, 100.0, 120.0, 1e4, 1e6, 16777216.0, 1e22,
           1e30, 1e38, 3e38, 3.4028235e38, 105414350.0, 88.72283, 88.7228394, 88.8, -87.33654, -87.3365479,
           -87.68, -87.8, -88.0, -103.97208, -104.0, -150.0, 20.0, 40.0, 7.998811721801758, 3.4e38]
  with np.errstate(over='ignore'):  # the float after 3.4028235e38 is inf
    xe = [w for v in edges for w in around(v)]
    xe += [w for k in range(1, 64) for w in around(k * np.pi / 2)]
    xe += [w for k in [101, 355, 1000, 2**20, 2**24 + 1, 10**9] for w in around(k * np.pi / 2)]
  xe = np.array(xe, dtype=f32)
  xe = np.concatenate([xe, -xe, rng2.integers(0, 2**32, 1500, dtype=np.uint64).astype(np.uint32).view(f32),
                       rng2.uniform(-200, 200, 500).astype(f32),
                       (rng2.choice([-1, 1], 500) * 10.0**rng2.uniform(-3, 38, 500)).astype(f32),
                       rng2.uniform(-104, 89, 500).astype(f32)])
  out['xe'] = xe
  for name in ['sin', 'cos', 'exp', 'expm1', 'tanh']:
    out[name + '_e'] = getattr(jnp, name)(xe)
  out['exp'] = jnp.exp(x)
  return out


if __name__ == '__main__':
  golden_doc.write('ops_coverage', 'jnp/random ops added for issue 10 (scripts/golden/ops_coverage.py).', scenarios, bits=True)

"""Golden for bit-exact sampling at scale: jax.random.normal / truncated_normal and the float32
initializers built on them, over >= 2^22 draws from several keys. Run with jax 0.10.2 (CPU):

    python scripts/golden/sampling_scale.py > __test__/golden/sampling_scale.json

The arrays are too big to commit, so each case stores the sha256 of its little-endian float32
bytes plus 256 sampled entries (index and bit pattern): the hash proves every value, the samples
show where a mismatch is. Samples are chosen deterministically: the largest |value| entries (the
erf_inv tail, where XLA's log rounding matters) and an even spread. flax.linen.initializers are
jax.nn.initializers re-exported, so this needs only jax. The tests never run Python.
"""
import hashlib
import inspect
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax, random


def cases():
  I = jax.nn.initializers
  split3 = random.split(random.key(1234))[1]
  out = {}
  # normal: 2^22 draws each from several keys, and an odd shape (partial last chunk).
  for name, k in [('key(0)', random.key(0)), ('key(3)', random.key(3)), ('key(42)', random.key(42)),
                  ('key(1234)', random.key(1234)), ('split(key(1234))[1]', split3)]:
    out[f'normal {name} (4194304,)'] = random.normal(k, (1 << 22,))
  out['normal key(7) (1531, 2741)'] = random.normal(random.key(7), (1531, 2741))
  # truncated_normal: several bounds, 2^22 draws each.
  for (lo, hi), name, k in [((-2., 2.), 'key(3)', random.key(3)), ((-2., 2.), 'key(0)', random.key(0)),
                            ((-1., 3.), 'key(42)', random.key(42)), ((0.5, 4.), 'key(1234)', random.key(1234)),
                            ((-6., 6.), 'split(key(1234))[1]', split3), ((-5.3, 5.35), 'key(5)', random.key(5))]:
    out[f'truncated_normal({lo:g}, {hi:g}) {name} (4194304,)'] = random.truncated_normal(k, lo, hi, (1 << 22,))
  # float32 initializers built on them, large shapes.
  out['lecun_normal() key(0) (2048, 2048)'] = I.lecun_normal()(random.key(0), (2048, 2048), jnp.float32)
  out['he_normal() key(11) (256, 256, 8, 8)'] = I.he_normal()(random.key(11), (256, 256, 8, 8), jnp.float32)
  out['glorot_normal() key(12) (1024, 4096)'] = I.glorot_normal()(random.key(12), (1024, 4096), jnp.float32)
  out['normal(0.02) key(13) (4096, 1024)'] = I.normal(0.02)(random.key(13), (4096, 1024), jnp.float32)
  out['truncated_normal(0.02) key(14) (2048, 2048)'] = I.truncated_normal(0.02)(random.key(14), (2048, 2048), jnp.float32)
  out["variance_scaling(2.0,'fan_out','truncated_normal') key(15) (1024, 4096)"] = I.variance_scaling(
      2.0, 'fan_out', 'truncated_normal')(random.key(15), (1024, 4096), jnp.float32)
  out["variance_scaling(1.0,'fan_in','normal',out_axis=0) key(16) (4096, 1024)"] = I.variance_scaling(
      1.0, 'fan_in', 'normal', out_axis=0)(random.key(16), (4096, 1024), jnp.float32)
  return out


def uniform_from_mantissa(bits, minval, maxval):
  # jax.random.uniform's float32 body (_uniform in jax/_src/random/core.py), op for op, on given
  # random bits: the value depends only on bits >> 9, so 2^23 inputs cover every possible draw.
  float_bits = lax.shift_right_logical(bits, jnp.array(9, jnp.uint32))
  float_bits = lax.bitwise_or(float_bits, jnp.array(np.array(1.0, np.float32).view(np.uint32)))
  floats = lax.bitcast_convert_type(float_bits, jnp.float32) - jnp.array(1., jnp.float32)
  return lax.max(minval, lax.reshape(floats * (maxval - minval) + minval, bits.shape))


@jax.jit
def normal_table(bits):
  lo = np.nextafter(np.float32(-1), np.float32(0))
  u = uniform_from_mantissa(bits, jnp.asarray(lo), jnp.asarray(np.float32(1)))
  return lax.mul(np.array(np.sqrt(2), np.float32), lax.erf_inv(u))


@jax.jit
def truncated_table(bits, lower, upper):
  sqrt2 = np.array(np.sqrt(2), np.float32)
  a = lax.erf(lower / sqrt2)
  b = lax.erf(upper / sqrt2)
  out = sqrt2 * lax.erf_inv(uniform_from_mantissa(bits, a, b))
  return jnp.clip(out, lax.nextafter(lower, np.float32(np.inf)), lax.nextafter(upper, np.float32(-np.inf)))


def tables():
  """Every value normal / truncated_normal can produce, indexed by the 23-bit mantissa (the
  random word >> 9). Each table is checked against the real jax.random draws below, so it is
  what JAX computes, not a re-derivation."""
  bits = jnp.asarray(np.arange(1 << 23, dtype=np.uint32) << 9)
  out = {'normal': np.asarray(normal_table(bits))}
  for lo, hi in BOUNDS:
    out[f'truncated_normal({lo:g}, {hi:g})'] = np.asarray(truncated_table(bits, jnp.float32(lo), jnp.float32(hi)))
  return out


BOUNDS = [(-2., 2.), (-1., 3.), (0.5, 4.), (-6., 6.), (-5.3, 5.35)]


def check_tables(tabs):
  for name, k in [('key(0)', random.key(0)), ('key(3)', random.key(3)), ('split', random.split(random.key(1234))[1])]:
    m = np.asarray(random.bits(k, (1 << 22,), jnp.uint32)) >> 9
    assert (tabs['normal'][m].view(np.uint32) == np.asarray(random.normal(k, (1 << 22,))).view(np.uint32)).all(), name
    for lo, hi in BOUNDS:
      t = tabs[f'truncated_normal({lo:g}, {hi:g})']
      got = np.asarray(random.truncated_normal(k, lo, hi, (1 << 22,))).view(np.uint32)
      assert (t[m].view(np.uint32) == got).all(), (name, lo, hi)


PREFIX = 1 << 16


def summarize(a, n=256, chunks=False):
  a = np.asarray(a, dtype=np.float32)
  flat = a.reshape(-1)
  le = flat.astype('<f4')
  bits = flat.view(np.uint32)
  tail = np.argsort(-np.abs(flat), kind='stable')[: n // 2]
  spread = np.linspace(0, flat.size - 1, n - tail.size).astype(np.int64)
  idx = np.unique(np.concatenate([tail, spread]))
  out = {
      'shape': list(a.shape),
      'dtype': 'float32',
      'sha256': hashlib.sha256(le.tobytes()).hexdigest(),
      # the first 2^16 values (a cheap check for unoptimised test builds)
      'prefix_sha256': hashlib.sha256(le[:PREFIX].tobytes()).hexdigest(),
      'index': [int(i) for i in idx],
      'bits': [int(b) for b in bits[idx]],
  }
  if chunks:  # one digest per 2^16 consecutive entries, so a test can check any subset
    out['chunk_sha256'] = [hashlib.sha256(le[i:i + PREFIX].tobytes()).hexdigest()
                           for i in range(0, flat.size, PREFIX)]
  return out


def main():
  doc = {
      'name': 'sampling_scale',
      'about': 'normal / truncated_normal / normal-based initializers at >= 2^22 draws: sha256 of the '
               'float32 little-endian bytes + sampled (index, bit pattern) (scripts/golden/sampling_scale.py).',
      'versions': {'jax': jax.__version__},
      'flax': inspect.getsource(cases),
      'expect': {k: summarize(v) for k, v in cases().items()},
  }
  tabs = tables()
  check_tables(tabs)
  doc['mapping_tables'] = {
      'about': 'value for each 23-bit mantissa m (random word >> 9), m = 0 .. 2^23-1, i.e. every '
               'value the distribution can produce (tables() in the script; checked against '
               'jax.random draws from 3 keys there).',
      'flax': inspect.getsource(tables),
      'expect': {k: summarize(v, chunks=True) for k, v in tabs.items()},
  }
  json.dump(doc, sys.stdout, indent=1)
  sys.stdout.write('\n')


if __name__ == '__main__':
  main()

"""Golden values for the transformer issue's ops: lax.slice / dynamic_slice /
dynamic_update_slice, jnp.pad, split, tile, repeat, sort, argsort, lax.top_k, searchsorted,
any, all, random.permutation and random.choice, from real JAX on CPU. Run with jax 0.10.2:

    python scripts/golden/lax_ops.py > __test__/golden/lax_ops.json

float32 arrays are written as their uint32 bit patterns (`bits`); other arrays as
{shape, dtype, data}. Tests never run Python.
"""


import flax
import jax
import jax.numpy as jnp
import numpy as np

import golden_doc
from jax import lax, random




def scenarios():
  out = {}
  rng = np.random.default_rng(12)
  f32 = np.float32
  x = rng.standard_normal((4, 5, 6)).astype(f32)
  out['x'] = x
  out['slice'] = lax.slice(x, (1, 0, 2), (4, 5, 6), (2, 3, 1))
  out['dslice'] = lax.dynamic_slice(x, (1, jnp.int32(3), 2), (2, 2, 3))
  out['dslice_clamped'] = lax.dynamic_slice(x, (3, -4, 5), (2, 2, 3))
  u = rng.standard_normal((1, 5, 2)).astype(f32)
  out['u'] = u
  out['dus'] = lax.dynamic_update_slice(x, u, (2, 0, 1))
  out['dus_clamped'] = lax.dynamic_update_slice(x, u, (9, -3, 5))

  p = np.arange(1, 13, dtype=f32).reshape(3, 4)
  out['p'] = p
  for mode in ['constant', 'edge', 'reflect', 'symmetric', 'wrap']:
    out['pad_' + mode] = jnp.pad(p, ((2, 1), (3, 5)), mode=mode)
    out['pad_big_' + mode] = jnp.pad(p, ((7, 4), (9, 6)), mode=mode)
  out['pad_const7'] = jnp.pad(p, 2, constant_values=7.5)
  out['pad_int'] = jnp.pad(jnp.arange(5, dtype=jnp.int32), (1, 2), mode='reflect')

  s = np.concatenate([rng.standard_normal(40).astype(f32), np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, 1.0, -0.0, np.nan, 0.0], f32)])
  rng.shuffle(s)
  out['s'] = s
  out['sort'] = jnp.sort(s)
  out['argsort'] = jnp.argsort(s)
  out['sort_desc'] = jnp.sort(s, descending=True)
  out['argsort_desc'] = jnp.argsort(s, descending=True)
  m = rng.integers(-5, 5, (6, 7)).astype(np.int32)
  out['m'] = m
  out['argsort_m0'] = jnp.argsort(m, axis=0)
  out['sort_m1'] = jnp.sort(m, axis=1)
  out['sort_mnone'] = jnp.sort(m, axis=None)
  out['argsort_m_desc'] = jnp.argsort(m, axis=1, descending=True)
  tv, ti = lax.top_k(s, 12)
  out['topk_v'], out['topk_i'] = tv, ti
  tv2, ti2 = lax.top_k(m, 3)
  out['topk_m_v'], out['topk_m_i'] = tv2, ti2
  a = np.array([-2.0, -1.0, -1.0, 0.0, 0.0, 1.5, 3.0, 3.0, 3.0, 10.0], f32)
  q = np.array([-3.0, -2.0, -1.0, -0.5, -0.0, 0.0, 1.5, 2.0, 3.0, 10.0, 11.0, np.nan, np.inf], f32)
  out['a'], out['q'] = a, q
  out['ss_left'] = jnp.searchsorted(a, q)
  out['ss_right'] = jnp.searchsorted(a, q, side='right')
  out['ss_int'] = jnp.searchsorted(jnp.array([1, 3, 3, 7], jnp.int32), jnp.array([[0, 3], [5, 9]], jnp.int32), side='right')
  b = np.array([[0.0, 0.0, np.nan], [1.0, 2.0, 0.0], [0.0, 0.0, 0.0]], f32)
  out['b'] = b
  out['any0'] = jnp.any(b, axis=0)
  out['all1'] = jnp.all(b, axis=1)
  out['any'] = jnp.any(b)
  out['all_keep'] = jnp.all(b != 0, axis=1, keepdims=True)

  out['split'] = jnp.split(x, 2, axis=0)
  out['split_idx'] = jnp.split(x, [1, 4], axis=2)
  out['array_split'] = jnp.array_split(x, 4, axis=2)
  out['tile'] = jnp.tile(p, (2, 1, 3))
  out['repeat'] = jnp.repeat(p, 2, axis=1)
  out['repeat_list'] = jnp.repeat(p, jnp.array([1, 0, 3]), axis=0)
  out['repeat_flat'] = jnp.repeat(p, 2)

  k = random.key(3)
  out['perm10'] = random.permutation(k, 10)
  out['perm_x'] = random.permutation(k, x, axis=1)
  out['perm_ind'] = random.permutation(k, x, axis=2, independent=True)
  out['perm2000'] = random.permutation(random.key(5), 2000)  # two sort rounds
  out['choice_r'] = random.choice(k, 50, (3, 4))
  out['choice_nr'] = random.choice(k, 50, (7,), replace=False)
  w = np.array([0.1, 0.0, 0.3, 0.2, 0.4, 0.05, 0.15], f32)
  out['w'] = w
  out['choice_p'] = random.choice(k, 7, (20,), p=w)
  out['choice_p_nr'] = random.choice(k, 7, (4,), replace=False, p=w)
  out['choice_x'] = random.choice(k, x, (2, 3), axis=1)
  out['choice_x_nr'] = random.choice(random.key(9), x, (3,), replace=False, axis=2)
  return out


if __name__ == '__main__':
  golden_doc.write('lax_ops', 'lax/jnp/random ops for the transformer issue (scripts/golden/lax_ops.py).', scenarios, bits=True)

"""Golden values for lax.reduce_window and flax.linen's pooling (the vision issue), from real
JAX / Flax on CPU: add / max / min with identity and other init values, SAME / VALID / explicit
(negative) padding, strides, a general computation (lax.mul), and nn.avg_pool (count_include_pad
both ways), nn.max_pool, nn.min_pool, nn.pool on batched and unbatched inputs, 1 to 3 window
dims. Run with jax 0.10.2 / flax 0.12.8:

    python scripts/golden/pooling.py > __test__/golden/pooling.json

float32 arrays are written as their uint32 bit patterns (`bits`). Tests never run Python.
"""

import flax.linen as nn
import numpy as np
from flax.linen.pooling import min_pool
from jax import lax

import golden_doc


def scenarios():
  out = {}
  rng = np.random.default_rng(5)
  f32 = np.float32
  x = rng.standard_normal((2, 7, 6, 3)).astype(f32)
  x[0, 1, 2, 0] = np.nan
  out['x'] = x
  out['rw_add'] = lax.reduce_window(x, 0.0, lax.add, (1, 3, 2, 1), (1, 2, 2, 1), 'SAME')
  out['rw_add_init'] = lax.reduce_window(x, 1.5, lax.add, (1, 3, 2, 1), (1, 2, 1, 1), ((0, 0), (1, 2), (0, 1), (0, 0)))
  out['rw_max'] = lax.reduce_window(x, -np.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1), 'VALID')
  out['rw_max_init'] = lax.reduce_window(x, 0.25, lax.max, (1, 2, 2, 2), (1, 1, 1, 1), ((0, 0), (1, 1), (-1, 2), (0, 1)))
  out['rw_min'] = lax.reduce_window(x, np.inf, lax.min, (2, 2, 1, 3), (1, 3, 1, 1), 'SAME')
  out['rw_mul'] = lax.reduce_window(x, 1.0, lax.mul, (1, 2, 2, 1), (1, 2, 2, 1), ((0, 0), (0, 1), (1, 0), (0, 0)))
  y = rng.standard_normal((2, 9, 8, 4)).astype(f32)
  out['y'] = y
  out['avg_valid'] = nn.avg_pool(y, (2, 2), strides=(2, 2))
  out['avg_same'] = nn.avg_pool(y, (3, 3), strides=(2, 2), padding='SAME')
  out['avg_same_nopad'] = nn.avg_pool(y, (3, 3), strides=(2, 2), padding='SAME', count_include_pad=False)
  out['avg_pairs_nopad'] = nn.avg_pool(y, (2, 3), padding=((1, 0), (2, 1)), count_include_pad=False)
  out['max_3x3_s2'] = nn.max_pool(y, (3, 3), strides=(2, 2), padding='SAME')
  out['max_pairs'] = nn.max_pool(y, (2, 2), strides=(1, 2), padding=((1, 1), (0, 1)))
  out['min_valid'] = min_pool(y, (2, 3), strides=(1, 1))
  out['pool_unbatched'] = nn.pool(y[0], 0.0, lax.add, (2, 2), (1, 1), 'VALID')
  out['avg_unbatched_nopad'] = nn.avg_pool(y[0], (3, 3), padding='SAME', count_include_pad=False)
  z1 = rng.standard_normal((3, 10, 2)).astype(f32)
  out['z1'] = z1
  out['max_1d'] = nn.max_pool(z1, (3,), strides=(2,), padding='SAME')
  z3 = rng.standard_normal((1, 4, 5, 6, 2)).astype(f32)
  out['z3'] = z3
  out['avg_3d'] = nn.avg_pool(z3, (2, 2, 3), strides=(2, 1, 3), padding='SAME', count_include_pad=False)
  return out


if __name__ == '__main__':
  golden_doc.write('pooling', 'lax.reduce_window and flax.linen pooling for the vision issue (scripts/golden/pooling.py).', scenarios, bits=True)

"""Golden values for nn.Embed, nn.Dropout, nn.PReLU and the orthogonal initializers, from real
Flax/JAX. Run with jax 0.10.2 / flax 0.12.8 (CPU):

    python scripts/golden/layers.py > __test__/golden/layers.json

Arrays are written as {shape, dtype, data}; NaN as null (JSON has no NaN). The tests never run
Python: they read the JSON.
"""

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import random

from golden_doc import write




def scenarios():
  out = {}

  # nn.Embed: default init (variance_scaling(1, 'fan_in', 'normal', out_axis=0)), lookups with a
  # negative index (wraps) and out-of-range indices (NaN rows), attend.
  embed = nn.Embed(num_embeddings=5, features=3)
  idx = jnp.array([[0, 2], [4, -1]])
  v = embed.init(random.key(0), idx)
  out['embed_init'] = v
  out['embed_lookup'] = embed.apply(v, idx)
  out['embed_out_of_range'] = embed.apply(v, jnp.array([5, 7, -6]))
  out['embed_attend'] = embed.apply(v, jnp.linspace(-1, 1, 6).reshape(2, 3), method=embed.attend)

  # The Dropout docstring: Dense(4) then Dropout(0.5), key(0) params, key(1) dropout.
  class MLP(nn.Module):
    @nn.compact
    def __call__(self, x, train):
      x = nn.Dense(4)(x)
      x = nn.Dropout(0.5, deterministic=not train)(x)
      return x

  model = MLP()
  x = jnp.ones((1, 3))
  mv = model.init(random.key(0), x, train=False)
  out['dropout_mlp_params'] = mv
  out['dropout_mlp_eval'] = model.apply(mv, x, train=False)
  out['dropout_mlp_train'] = model.apply(mv, x, train=True, rngs={'dropout': random.key(1)})

  xs = jnp.arange(1.0, 25.0).reshape(4, 6)
  d = nn.Dropout(0.3)
  out['dropout_top_level'] = d.apply({}, xs, deterministic=False, rngs={'dropout': random.key(2)})
  out['dropout_params_fallback'] = d.apply({}, xs, deterministic=False, rngs={'params': random.key(2)})
  out['dropout_manual_rng'] = d.apply({}, xs, deterministic=False, rng=random.key(5))
  out['dropout_broadcast_dims_0'] = nn.Dropout(0.5, broadcast_dims=(0,)).apply(
      {}, xs, deterministic=False, rngs={'dropout': random.key(3)})
  out['dropout_other_collection'] = nn.Dropout(0.5, rng_collection='noise').apply(
      {}, xs, deterministic=False, rngs={'noise': random.key(4)})

  # PReLU (linen_activation_test): param negative_slope (0.01), where(x >= 0, x, slope * x).
  px = random.uniform(random.key(1), (2, 3)) - 0.5
  y, pv = nn.PReLU().init_with_output(random.key(0), px)
  out['prelu_x'] = px
  out['prelu_y'] = y
  out['prelu_params'] = pv

  # orthogonal: values agree to float32 rounding (QR is LAPACK's).
  init = nn.initializers.orthogonal()
  out['orthogonal (2, 3)'] = init(random.key(42), (2, 3), jnp.float32)
  out['orthogonal (5, 3)'] = init(random.key(0), (5, 3), jnp.float32)
  out['orthogonal(2.0, column_axis=0) (3, 4, 2)'] = nn.initializers.orthogonal(2.0, column_axis=0)(
      random.key(1), (3, 4, 2), jnp.float32)
  out['delta_orthogonal (3, 3, 2, 4)'] = nn.initializers.delta_orthogonal()(random.key(2), (3, 3, 2, 4), jnp.float32)
  out['delta_orthogonal(0.5) (2, 3, 3)'] = nn.initializers.delta_orthogonal(0.5)(random.key(3), (2, 3, 3), jnp.float32)

  # The original threefry layout (jax_threefry_partitionable=False) reaches parameters: a Dense
  # initialised under it (truncated normal kernel) and a dropout mask.
  with jax.threefry_partitionable(False):
    out['original_layout_dense'] = nn.Dense(4).init(random.key(0), jnp.ones((1, 3)))
    out['original_layout_dropout'] = d.apply({}, xs, deterministic=False, rngs={'dropout': random.key(2)})
  return out


if __name__ == '__main__':
  write('layers', 'nn.Embed, nn.Dropout, nn.PReLU and the orthogonal initializer (scripts/golden/layers.py).', scenarios)

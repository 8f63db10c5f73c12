"""Golden values for nn.LayerNorm and nn.RMSNorm with non-trivial params, from real Flax/JAX.
Run with jax 0.10.2 / flax 0.12.8 (CPU):

    python scripts/golden/norm_layers.py > __test__/golden/norm_layers.json

Arrays are written as {shape, dtype, data}; NaN as null (JSON has no NaN). The tests never run
Python: they read the JSON.
"""

import flax.linen as nn
import jax.numpy as jnp
from jax import random

from golden_doc import write


def scenarios():
  out = {}
  # normal(1.0) initialisers so scale and bias are not ones/zeros: their values pin the RNG
  # paths ('params' counters: scale first, bias second) and the output exercises both.
  init = nn.initializers.normal(1.0)
  layers = {
      'layer_norm': lambda: nn.LayerNorm(scale_init=init, bias_init=init),
      'layer_norm_slow_var': lambda: nn.LayerNorm(scale_init=init, bias_init=init, use_fast_variance=False),
      'layer_norm_axes_1_2': lambda: nn.LayerNorm(scale_init=init, bias_init=init, reduction_axes=(1, 2)),
      'rms_norm': lambda: nn.RMSNorm(scale_init=init),
  }
  for shape_name, shape in [('4x7', (4, 7)), ('2x3x8', (2, 3, 8))]:
    x = random.normal(random.key(1), shape)
    case = {'x': x}
    for name, make in layers.items():
      if name == 'layer_norm_axes_1_2' and len(shape) < 3:
        continue
      y, v = make().init_with_output(random.key(0), x)
      case[name] = {'vars': v, 'y': y, 'apply_x_plus_3': make().apply(v, x + 3.0)}
    out[shape_name] = case
  return out


if __name__ == '__main__':
  write('norm_layers', 'nn.LayerNorm and nn.RMSNorm with normal(1.0) scale/bias initialisers (scripts/golden/norm_layers.py).', scenarios)

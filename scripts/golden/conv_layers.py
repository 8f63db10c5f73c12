"""Golden values for Flax's convolution layers (nn.Conv, nn.ConvTranspose, nn.ConvLocal) and the
lax functions behind them (conv_transpose, conv_general_dilated_patches,
conv_general_dilated_local), from real Flax/JAX on CPU: every padding mode, strides, both
dilations, feature groups, masks, 1 to 3 spatial axes, extra and missing batch axes. Each layer
case holds its props (flaxen's camelCase; the generator maps them to Flax's keywords), the input,
the variables of `init(key(0), x)` and the output of `apply`. Run with flax 0.12.8 / jax 0.10.2:

    python scripts/golden/conv_layers.py > __test__/golden/conv-layers.json

float32 arrays are written as their uint32 bit patterns (`bits`). Tests never run Python.
"""
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import golden_doc

LAYERS = {'Conv': nn.Conv, 'ConvTranspose': nn.ConvTranspose, 'ConvLocal': nn.ConvLocal}


def flax_kwargs(props):
  kw = {}
  for k, v in props.items():
    if k == 'biasNormal':  # bias_init=normal(1.0): lets the bias show in the output
      kw['bias_init'] = nn.initializers.normal(1.0)
      continue
    if k == 'maskTril':  # mask = tril(ones(kernel shape)) over the last two axes
      continue
    if isinstance(v, list):
      v = tuple(tuple(p) if isinstance(p, list) else p for p in v)
    kw[re.sub(r'([A-Z])', lambda m: '_' + m.group(1).lower(), k)] = v
  return kw


def scenarios():
  out = {}
  rng = np.random.default_rng(8)

  def layer(name, cls, props, x_shape, mask_shape=None):
    x = rng.standard_normal(x_shape).astype(np.float32)
    kw = flax_kwargs(props)
    if mask_shape is not None:
      kw['mask'] = jnp.tril(jnp.ones(mask_shape))
    m = LAYERS[cls](**kw)
    variables = m.init(jax.random.key(0), x)
    out[name] = {'layer': cls, 'props': props, 'maskShape': mask_shape, 'x': x, 'variables': variables, 'y': m.apply(variables, x)}

  # nn.Conv: each padding mode.
  for pad in ['SAME', 'VALID', 'CIRCULAR', 'REFLECT']:
    layer(f'conv_{pad.lower()}', 'Conv', {'features': 4, 'kernelSize': [3, 3], 'padding': pad, 'biasNormal': True}, (2, 6, 5, 3))
  layer('conv_circular_s2_even', 'Conv', {'features': 3, 'kernelSize': [4, 2], 'strides': 2, 'padding': 'CIRCULAR'}, (1, 8, 7, 2))
  layer('conv_causal', 'Conv', {'features': 5, 'kernelSize': [3], 'padding': 'CAUSAL', 'kernelDilation': 2, 'biasNormal': True}, (2, 9, 3))
  layer('conv_int_pad', 'Conv', {'features': 4, 'kernelSize': [3, 3], 'padding': 2}, (1, 5, 5, 2))
  layer('conv_pairs', 'Conv', {'features': 4, 'kernelSize': [3, 2], 'padding': [[2, 0], 1]}, (1, 5, 6, 2))
  layer('conv_strides_dil', 'Conv', {'features': 6, 'kernelSize': [3, 3], 'strides': [2, 1], 'kernelDilation': [1, 2]}, (2, 9, 8, 3))
  layer('conv_input_dil', 'Conv', {'features': 3, 'kernelSize': [3, 3], 'inputDilation': 2, 'padding': [[2, 1], [1, 2]]}, (1, 4, 5, 2))
  layer('conv_groups', 'Conv', {'features': 6, 'kernelSize': [3, 3], 'featureGroupCount': 3}, (2, 5, 5, 6))
  layer('conv_depthwise', 'Conv', {'features': 8, 'kernelSize': [3, 3], 'strides': 2, 'featureGroupCount': 4, 'useBias': False}, (1, 7, 7, 4))
  layer('conv_1x1', 'Conv', {'features': 7, 'kernelSize': [1, 1], 'biasNormal': True}, (2, 4, 4, 5))
  layer('conv_int_kernel_1d', 'Conv', {'features': 4, 'kernelSize': 3, 'padding': 'VALID'}, (1, 8, 3))
  layer('conv_3d', 'Conv', {'features': 3, 'kernelSize': [2, 3, 2], 'strides': [1, 2, 1]}, (1, 4, 5, 4, 2))
  layer('conv_multibatch', 'Conv', {'features': 4, 'kernelSize': [3], 'padding': 'VALID'}, (2, 5, 8, 3))
  layer('conv_unbatched', 'Conv', {'features': 4, 'kernelSize': [3, 3]}, (5, 5, 2))
  layer('conv_mask', 'Conv', {'features': 4, 'kernelSize': [3], 'padding': 'VALID'}, (1, 8, 3), mask_shape=(3, 3, 4))
  # nn.ConvTranspose.
  for pad in ['SAME', 'VALID', 'CIRCULAR']:
    layer(f'convt_{pad.lower()}_s2', 'ConvTranspose', {'features': 4, 'kernelSize': [3, 3], 'strides': [2, 2], 'padding': pad, 'biasNormal': True}, (2, 4, 5, 3))
    layer(f'convt_{pad.lower()}_tk', 'ConvTranspose', {'features': 3, 'kernelSize': [4, 4], 'strides': [2, 2], 'padding': pad, 'transposeKernel': True}, (1, 5, 5, 2))
  layer('convt_pairs_dil', 'ConvTranspose', {'features': 3, 'kernelSize': [3], 'strides': [3], 'padding': [[1, 2]], 'kernelDilation': [2]}, (2, 6, 2))
  layer('convt_default_strides', 'ConvTranspose', {'features': 2, 'kernelSize': [3, 3], 'padding': 'VALID'}, (1, 4, 4, 3))
  layer('convt_mask', 'ConvTranspose', {'features': 4, 'kernelSize': [3], 'padding': 'VALID'}, (1, 8, 3), mask_shape=(3, 3, 4))
  # nn.ConvLocal.
  layer('convlocal_valid', 'ConvLocal', {'features': 4, 'kernelSize': [3], 'padding': 'VALID', 'biasNormal': True}, (2, 8, 3))
  layer('convlocal_circular_s2', 'ConvLocal', {'features': 4, 'kernelSize': [3, 3], 'strides': 2, 'padding': 'CIRCULAR'}, (1, 8, 6, 3))
  layer('convlocal_same_dil', 'ConvLocal', {'features': 2, 'kernelSize': [2, 3], 'kernelDilation': [2, 1]}, (2, 5, 4, 2))

  # The lax functions, in their default layouts.
  def arr(*shape):
    return rng.standard_normal(shape).astype(np.float32)

  x, w = arr(2, 5, 4, 3), arr(3, 3, 3, 2)
  out['lax_conv_transpose_same'] = {'lhs': x, 'rhs': w, 'y': lax.conv_transpose(x, w, (2, 2), 'SAME')}
  out['lax_conv_transpose_pairs'] = {'lhs': x, 'rhs': w, 'y': lax.conv_transpose(x, w, (1, 2), ((2, 1), (0, 2)), rhs_dilation=(2, 1))}
  out['lax_conv_transpose_consistent'] = {'lhs': x, 'rhs': w, 'y': lax.conv_transpose(x, w, (2, 2), ((1, 1), (0, 1)), use_consistent_padding=True)}
  x2, w2 = arr(2, 3, 6, 5), arr(3, 4, 2, 2)
  out['lax_conv_transpose_nchw_tk'] = {'lhs': x2, 'rhs': w2, 'y': lax.conv_transpose(x2, w2, (2, 1), 'VALID', dimension_numbers=('NCHW', 'OIHW', 'NCHW'), transpose_kernel=True)}
  x3 = arr(2, 3, 6, 5)
  out['lax_patches'] = {'lhs': x3, 'y': lax.conv_general_dilated_patches(x3, (2, 3), (1, 2), 'SAME')}
  x4 = arr(1, 7, 6, 2)
  out['lax_patches_nhwc_dil'] = {'lhs': x4, 'y': lax.conv_general_dilated_patches(x4, (3, 2), (2, 1), 'VALID', rhs_dilation=(1, 2), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))}
  x5 = arr(2, 3, 6, 5)
  w5 = arr(4, 3 * 2 * 2, 5, 4)  # NCHW/OIHW: O=4, I=C*2*2, spatial = output positions (5, 4)
  out['lax_local'] = {'lhs': x5, 'rhs': w5, 'y': lax.conv_general_dilated_local(x5, w5, (1, 1), 'VALID', (2, 2))}
  return out


if __name__ == '__main__':
  golden_doc.write('conv-layers', 'nn.Conv / ConvTranspose / ConvLocal and lax.conv_transpose / patches / local (scripts/golden/conv_layers.py).', scenarios, bits=True)

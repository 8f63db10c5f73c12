"""Golden values for lax.conv_general_dilated (the vision issue), from real JAX on CPU: layouts
(JAX's default NCHW/OIHW, Flax's NHWC/HWIO, mixed), 1 to 3 spatial axes, SAME / SAME_LOWER /
VALID and explicit (also negative) padding, strides, lhs and rhs dilation, feature groups
(depthwise included). Run with jax 0.10.2:

    python scripts/golden/conv.py > __test__/golden/conv.json

float32 arrays are written as their uint32 bit patterns (`bits`). Tests never run Python.
"""

import jax
import numpy as np
from jax import lax

import golden_doc


def scenarios():
  out = {}
  rng = np.random.default_rng(21)
  f32 = np.float32

  def case(name, lhs_shape, rhs_shape, strides, padding, **kw):
    x = rng.standard_normal(lhs_shape).astype(f32)
    w = rng.standard_normal(rhs_shape).astype(f32)
    out[name + '_x'] = x
    out[name + '_w'] = w
    out[name] = lax.conv_general_dilated(x, w, strides, padding, **kw)

  # JAX's default layout (NCHW, OIHW, NCHW).
  case('nchw_valid', (2, 3, 7, 6), (4, 3, 3, 2), (1, 1), 'VALID')
  case('nchw_same_s2', (1, 3, 9, 8), (5, 3, 3, 3), (2, 2), 'SAME')
  # Flax's layout.
  nhwc = ('NHWC', 'HWIO', 'NHWC')
  case('nhwc_same', (2, 8, 7, 4), (3, 3, 4, 6), (1, 1), 'SAME', dimension_numbers=nhwc)
  case('nhwc_same_lower_s2', (1, 7, 8, 3), (4, 3, 3, 5), (2, 3), 'SAME_LOWER', dimension_numbers=nhwc)
  case('nhwc_pads', (1, 6, 6, 2), (3, 2, 2, 3), (1, 2), ((2, -1), (0, 3)), dimension_numbers=nhwc)
  case('nhwc_rhs_dil', (1, 9, 9, 3), (3, 3, 3, 4), (1, 1), 'SAME', rhs_dilation=(2, 3), dimension_numbers=nhwc)
  case('nhwc_lhs_dil', (2, 4, 5, 3), (3, 3, 3, 2), (1, 1), ((2, 2), (1, 2)), lhs_dilation=(2, 2), dimension_numbers=nhwc)
  case('nhwc_groups', (1, 6, 6, 6), (3, 3, 2, 9), (1, 1), 'SAME', feature_group_count=3, dimension_numbers=nhwc)
  case('nhwc_depthwise', (2, 7, 7, 4), (3, 3, 1, 8), (2, 2), 'SAME', feature_group_count=4, dimension_numbers=nhwc)
  case('nhwc_1x1', (2, 5, 5, 8), (1, 1, 8, 16), (1, 1), 'VALID', dimension_numbers=nhwc)
  case('nhwc_1x1_s2', (1, 6, 6, 4), (1, 1, 4, 5), (2, 2), 'VALID', dimension_numbers=nhwc)
  # 1 and 3 spatial axes, and mixed layouts.
  case('nwc_1d', (3, 11, 4), (5, 4, 6), (2,), 'SAME', rhs_dilation=(2,), dimension_numbers=('NWC', 'WIO', 'NWC'))
  case('ndhwc_3d', (1, 5, 6, 4, 2), (2, 3, 2, 2, 3), (1, 2, 1), 'SAME', dimension_numbers=('NDHWC', 'DHWIO', 'NDHWC'))
  case('mixed_layouts', (2, 5, 3, 6), (3, 2, 3, 4), (1, 1), 'SAME', dimension_numbers=('NWCH', 'IHOW', 'CNHW'))
  return out


if __name__ == '__main__':
  golden_doc.write('conv', 'lax.conv_general_dilated for the vision issue (scripts/golden/conv.py).', scenarios, bits=True)

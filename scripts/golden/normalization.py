"""Golden values for nn.WeightNorm, nn.SpectralNorm and the core weight-standardisation example
(everything built on map_variables), from real Flax/JAX. Run with jax 0.10.2 / flax 0.12.8 (CPU):

    python scripts/golden/normalization.py > __test__/golden/normalization.json

Arrays are written as {shape, dtype, data}; NaN as null (JSON has no NaN). The tests never run
Python: they read the JSON.
"""

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.core import init as core_init, apply as core_apply, lift
from flax.core import nn as core_nn
from jax import random

from golden_doc import write




def scenarios():
  out = {}
  x = random.normal(random.key(1), (1, 4))
  out['x'] = x

  # WeightNorm inside a compact module: Dense(8) -> WeightNorm(Dense(6)) -> Dense(4). The scale
  # lives in WeightNorm_0 as 'Dense_1/kernel/scale'; the stored Dense_1 kernel is normalised.
  class WN(nn.Module):
    @nn.compact
    def __call__(self, x):
      x = nn.Dense(8)(x)
      x = nn.WeightNorm(nn.Dense(6))(x)
      return nn.Dense(4)(x)

  y, v = WN().init_with_output(random.key(0), x)
  out['wn_init_y'] = y
  out['wn_init'] = v
  out['wn_apply'] = WN().apply(v, x)
  # at params that are not normalised already (every leaf + 0.5): scale * v / ||v||
  v_shift = jax.tree_util.tree_map(lambda a: a + 0.5, v)
  out['wn_apply_shifted'] = WN().apply(v_shift, x)

  # test_manual_weight_norm's parameter sets (feature_axes, variable_filter).
  key1, key2 = random.split(random.key(1))
  xm = random.normal(key1, (1, 3))
  out['wn_manual_x'] = xm
  manual = {}
  for name, fa, vf in [('fa=-1,kernel', -1, {'kernel'}), ('fa=0,kernel', 0, {'kernel'}),
                       ('fa=(0,1),kernel', (0, 1), {'kernel'}), ('fa=(),kernel', (), {'kernel'}),
                       ('fa=None,kernel', None, {'kernel'}), ('fa=0,bias', 0, {'bias'}),
                       ('fa=(),bias', (), {'bias'})]:
    m = nn.WeightNorm(nn.Dense(2, bias_init=nn.initializers.normal()), feature_axes=fa, variable_filter=vf)
    vm = m.init(key2, xm)
    vm_shift = jax.tree_util.tree_map(lambda a: a + 0.5, vm)
    manual[name] = {'init': vm, 'apply': m.apply(vm_shift, xm)}
  out['wn_manual'] = manual

  # test_weight_norm_variable_filter's nesting: which leaves get a scale for each filter.
  class Baz(nn.Module):
    @nn.compact
    def __call__(self, x):
      return nn.Dense(2)(x)

  class Bar(nn.Module):
    @nn.compact
    def __call__(self, x):
      x = Baz()(x)
      x = nn.Dense(3)(x)
      x = Baz()(x)
      return nn.Dense(3)(x)

  filters = {}
  for name, f in [('{}', {}), ('None', None), ('kernel', {'kernel'}), ('kernel,bias', {'kernel', 'bias'}),
                  ('Bar', {'Bar'}), ('Baz,kernel', {'Baz', 'kernel'})]:
    class Foo(nn.Module):
      @nn.compact
      def __call__(self, x):
        return nn.WeightNorm(Bar(), variable_filter=f)(x)
    vf = Foo().init(random.key(0), jnp.ones((1, 4)))
    filters[name] = sorted(vf['params']['WeightNorm_0'].keys())
  out['wn_filter_keys'] = filters

  class FooBK(nn.Module):
    @nn.compact
    def __call__(self, x):
      return nn.WeightNorm(Bar(), variable_filter={'Baz', 'kernel'})(x)
  ybk, vbk = FooBK().init_with_output(random.key(0), jnp.ones((1, 4)))
  out['wn_filter_baz_kernel'] = {'init': vbk, 'y': ybk}

  # A top-level WeightNorm adopts its layer under the field name layer_instance.
  top = nn.WeightNorm(nn.Dense(10))
  yt, vt = top.init_with_output(random.key(0), jnp.ones((10, 10)))
  out['wn_top'] = {'init': vt, 'y': yt}

  # SpectralNorm: Dense(8) -> SpectralNorm(Dense(6), n_steps) -> Dense(4); u/sigma in batch_stats.
  def sn_model(n_steps):
    class SN(nn.Module):
      @nn.compact
      def __call__(self, x, train):
        x = nn.Dense(8)(x)
        x = nn.SpectralNorm(nn.Dense(6), n_steps=n_steps)(x, update_stats=train)
        return nn.Dense(4)(x)
    return SN()

  for n_steps in (1, 3):
    sn = sn_model(n_steps)
    case = {}
    y0, v0 = sn.init_with_output(random.key(0), x, train=True)
    case['init_train'] = {'y': y0, 'vars': v0}
    y0e, v0e = sn.init_with_output(random.key(0), x, train=False)
    case['init_eval'] = {'y': y0e, 'vars': v0e}
    y1, s1 = sn.apply(v0, x, train=True, mutable=['batch_stats'])
    case['step1'] = {'y': y1, 'state': s1}
    v1 = {'params': v0['params'], **s1}
    y2, s2 = sn.apply(v1, x, train=True, mutable=['batch_stats'])
    case['step2'] = {'y': y2, 'state': s2}
    case['eval'] = sn.apply({'params': v0['params'], **s2}, x, train=False)
    out[f'sn_steps_{n_steps}'] = case

  # A 3-D kernel is flattened to (-1, last) unless error_on_non_matrix.
  sn3 = nn.SpectralNorm(nn.DenseGeneral((3, 4), use_bias=False))
  y3, v3 = sn3.init_with_output(random.key(0), jnp.ones((1, 2)), update_stats=True)
  out['sn_3d'] = {'init': v3, 'y': y3}
  try:
    nn.SpectralNorm(nn.DenseGeneral((3, 4), use_bias=False), error_on_non_matrix=True).init(
        random.key(0), jnp.ones((1, 2)), update_stats=True)
  except ValueError as e:
    out['sn_3d_error'] = str(e)

  # core_weight_std_test: lift.map_variables(fn, 'params', std, init=True) on a dense with a
  # normal(1e5) kernel; the output stays small because the kernel is standardised.
  def weight_std(fn, kernel_name='kernel', eps=1e-8):
    def std(variables):
      params = variables['params']
      kernel = params[kernel_name]
      redux = tuple(range(kernel.ndim - 1))
      norm = jnp.square(kernel).sum(redux, keepdims=True)
      params[kernel_name] = kernel / jnp.sqrt(norm + eps)
      return variables
    return lift.map_variables(fn, 'params', std, init=True)

  def mlp(scope, x, sizes=(8, 1)):
    def dense_1e5(scope, x, features):
      return core_nn.dense(scope, x, features, kernel_init=nn.initializers.normal(stddev=1e5))
    std_dense = weight_std(dense_1e5)
    for size in sizes[:-1]:
      x = scope.child(std_dense, prefix='hidden_')(x, size)
    return scope.child(core_nn.dense, 'out')(x, sizes[-1])

  xw = random.normal(random.key(0), (1, 4))
  yw, vw = core_init(mlp)(random.key(1), xw)
  out['weight_std'] = {'x': xw, 'y': yw, 'vars': vw, 'apply': core_apply(mlp)(vw, xw)}
  return out


if __name__ == '__main__':
  write('normalization', 'nn.WeightNorm, nn.SpectralNorm and weight standardisation, all map_variables (scripts/golden/normalization.py).', scenarios)

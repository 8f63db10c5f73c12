"""Golden values for the vision normalisation layers (nn.BatchNorm, nn.GroupNorm, nn.InstanceNorm)
and for the `mask` and axis options of nn.LayerNorm / nn.RMSNorm, from real Flax/JAX. Run with
jax 0.10.2 / flax 0.12.8 (CPU), from the repository root:

    python scripts/golden/norm_vision.py > __test__/golden/norm_vision.json

float32 arrays are written as their uint32 bit patterns (`bits`), so inputs and params are exact.
The tests never run Python: they read the JSON.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import random

from golden_doc import write


def scenarios():
  out = {}
  # Non-trivial scale/bias initialisers, so the params matter (and their RNG paths: scale is
  # created before bias, both from the 'params' stream of the layer).
  scale_init = nn.initializers.normal(1.0)
  bias_init = nn.initializers.uniform(2.0)

  def error(fn):
    try:
      fn()
    except Exception as e:  # noqa: BLE001 - the class name and text are the golden
      return {'type': type(e).__name__, 'message': str(e)}
    return None

  # ---- BatchNorm ----------------------------------------------------------------------------
  # NHWC input, not centred, so the running averages move visibly.
  x = random.normal(random.key(1), (4, 5, 5, 3)) * 2.0 + 0.5
  x2 = random.normal(random.key(2), (4, 5, 5, 3)) * 0.5 - 1.0
  out['x'] = x
  out['x2'] = x2
  # A mask over the batch and spatial axes, broadcast over the channels.
  mask = random.bernoulli(random.key(3), 0.6, (4, 5, 5, 1))
  out['mask'] = mask

  bn = {}
  for name, kw in [
      ('fast', dict(momentum=0.9)),
      ('slow', dict(momentum=0.9, use_fast_variance=False)),
      ('default_momentum', dict()),
      ('axis_1', dict(momentum=0.8, axis=1)),
      ('axis_1_3', dict(momentum=0.9, axis=(1, 3))),
      ('axis_1_3_slow', dict(momentum=0.9, axis=(1, 3), use_fast_variance=False)),
      ('no_scale_bias', dict(momentum=0.9, use_scale=False, use_bias=False)),
  ]:
    train = nn.BatchNorm(use_running_average=False, scale_init=scale_init, bias_init=bias_init, **kw)
    evalm = nn.BatchNorm(use_running_average=True, scale_init=scale_init, bias_init=bias_init, **kw)
    case = {}
    y0, v0 = train.init_with_output(random.key(0), x)
    case['init'] = {'y': y0, 'vars': v0}
    y1, s1 = train.apply(v0, x, mutable=['batch_stats'])
    case['step1'] = {'y': y1, 'state': s1}
    v1 = {'params': v0['params'], **s1} if 'params' in v0 else dict(s1)
    y2, s2 = train.apply(v1, x2, mutable=['batch_stats'])
    case['step2'] = {'y': y2, 'state': s2}
    v2 = {'params': v0['params'], **s2} if 'params' in v0 else dict(s2)
    case['eval'] = evalm.apply(v2, x)
    # eval mode at init: normalised by the initial stats (mean 0, var 1)
    ye, ve = evalm.init_with_output(random.key(0), x)
    case['init_eval'] = {'y': ye, 'vars': ve}
    bn[name] = case
  out['bn'] = bn

  # Eval mode with given (non-trivial) statistics.
  stats = {'mean': random.normal(random.key(4), (3,)), 'var': random.uniform(random.key(5), (3,), minval=0.5, maxval=1.5)}
  params = nn.BatchNorm(use_running_average=True, scale_init=scale_init, bias_init=bias_init).init(random.key(0), x)['params']
  out['bn_given_stats'] = {'stats': stats, 'params': params,
                           'y': nn.BatchNorm(use_running_average=True).apply({'params': params, 'batch_stats': stats}, x)}
  # use_running_average given at call time instead (the constructor's is None).
  bn_call = nn.BatchNorm(momentum=0.9, scale_init=scale_init, bias_init=bias_init)
  yc0, vc0 = bn_call.init_with_output(random.key(0), x, use_running_average=False)
  yc1, sc1 = bn_call.apply(vc0, x, False, mutable=['batch_stats'])
  out['bn_call_time'] = {'init_y': yc0, 'vars': vc0, 'step_y': yc1, 'state': sc1,
                         'eval_y': bn_call.apply({'params': vc0['params'], **sc1}, x, use_running_average=True)}

  # Masked batch statistics (train step after init).
  bn_mask = {}
  for name, fast in [('fast', True), ('slow', False)]:
    m = nn.BatchNorm(momentum=0.9, use_running_average=False, use_fast_variance=fast, scale_init=scale_init, bias_init=bias_init)
    y0, v0 = m.init_with_output(random.key(0), x, mask=mask)
    y1, s1 = m.apply(v0, x, mask=mask, mutable=['batch_stats'])
    bn_mask[name] = {'init_y': y0, 'vars': v0, 'step_y': y1, 'state': s1}
  out['bn_mask'] = bn_mask

  # Inputs whose statistics are exact in float32: multiples of 1/2 in [-2, 2], 64 values per
  # feature (a power of two, so JAX's `sum * (1/64)` and a true division agree). Every reduction
  # then has one possible result whatever its order, so the layer and its running averages
  # (the momentum arithmetic) are bit-exact. The mask is full-shaped: with a mask broadcast over
  # the features XLA multiplies by the count's float32 reciprocal instead of dividing.
  xi = random.randint(random.key(12), (4, 4, 4, 3), -4, 5).astype(jnp.float32) * 0.5
  out['xi'] = xi
  mask_full = random.bernoulli(random.key(13), 0.75, (4, 4, 4, 3))
  out['mask_full'] = mask_full
  bn_exact = {}
  for name, kw, mk in [('fast', dict(), None), ('slow', dict(use_fast_variance=False), None), ('fast_mask', dict(), mask_full),
                       ('default_momentum', dict(momentum=0.99), None)]:
    kw = {'momentum': 0.9, **kw}
    m = nn.BatchNorm(use_running_average=False, scale_init=scale_init, bias_init=bias_init, **kw)
    v = m.init(random.key(0), xi, mask=mk)
    y1, s1 = m.apply(v, xi, mask=mk, mutable=['batch_stats'])
    y2, s2 = m.apply({'params': v['params'], **s1}, xi[::-1] * 0.5 + 1.0, mask=mk, mutable=['batch_stats'])
    bn_exact[name] = {'vars': v, 'step1_y': y1, 'step1': s1, 'step2_y': y2, 'step2': s2}
  out['bn_exact'] = bn_exact

  # Errors.
  xs = random.normal(random.key(0), (5, 6))
  vs = nn.BatchNorm(use_running_average=False).init(random.key(1), xs)
  out['bn_errors'] = {
      'neither': error(lambda: nn.BatchNorm().init(random.key(0), xs)),
      'both': error(lambda: nn.BatchNorm(use_running_average=True).init(random.key(0), xs, use_running_average=False)),
      'immutable': error(lambda: nn.BatchNorm(use_running_average=False).apply(vs, xs)),
      'missing_stats': error(lambda: nn.BatchNorm(use_running_average=True).apply({'params': vs['params']}, xs)),
  }
  # Case 96: the docstring's shapes.
  out['bn_docstring_shapes'] = jax.tree_util.tree_map(lambda a: list(a.shape), nn.BatchNorm(momentum=0.9, epsilon=1e-5).init(
      random.key(1), random.normal(random.key(0), (5, 6)), use_running_average=False))

  # ---- GroupNorm / InstanceNorm -------------------------------------------------------------
  xg = random.normal(random.key(6), (2, 4, 4, 6)) * 1.5 + 0.25
  out['xg'] = xg
  gmask = random.bernoulli(random.key(7), 0.7, (2, 4, 4, 6))
  out['gmask'] = gmask
  gn = {}
  for name, kw in [
      ('groups_2', dict(num_groups=2)),
      ('groups_3_slow', dict(num_groups=3, use_fast_variance=False)),
      ('group_size_1', dict(num_groups=None, group_size=1)),
      ('group_size_3', dict(num_groups=None, group_size=3)),
      ('groups_1', dict(num_groups=1)),
      ('red_2_3', dict(num_groups=2, reduction_axes=(2, 3))),
      ('red_0_1_2_3', dict(num_groups=3, reduction_axes=(0, 1, 2, 3))),
      ('red_neg', dict(num_groups=2, reduction_axes=(-2, -1))),
      ('no_scale', dict(num_groups=2, use_scale=False)),
  ]:
    m = nn.GroupNorm(scale_init=scale_init, bias_init=bias_init, **kw)
    y, v = m.init_with_output(random.key(0), xg)
    gn[name] = {'y': y, 'vars': v, 'apply_offset': m.apply(v, xg + 100.0)}
  m = nn.GroupNorm(num_groups=2, scale_init=scale_init, bias_init=bias_init)
  v = m.init(random.key(0), xg)
  gn['mask'] = {'y': m.apply(v, xg, mask=gmask), 'vars': v}
  # A 2-D input: the only reduction axis is the channels.
  x2d = random.normal(random.key(8), (3, 8))
  out['x2d'] = x2d
  y, v = nn.GroupNorm(num_groups=4, scale_init=scale_init, bias_init=bias_init).init_with_output(random.key(0), x2d)
  gn['2d'] = {'y': y, 'vars': v}
  out['gn'] = gn
  out['gn_errors'] = {
      'both': error(lambda: nn.GroupNorm(num_groups=2, group_size=3).init(random.key(0), xg)),
      'neither': error(lambda: nn.GroupNorm(num_groups=None).init(random.key(0), xg)),
      'groups_not_divisor': error(lambda: nn.GroupNorm(num_groups=4).init(random.key(0), xg)),
      'default_32': error(lambda: nn.GroupNorm().init(random.key(0), xg)),
      'group_size_not_divisor': error(lambda: nn.GroupNorm(num_groups=None, group_size=4).init(random.key(0), xg)),
      'zero_groups': error(lambda: nn.GroupNorm(num_groups=0).init(random.key(0), xg)),
      'no_last_axis': error(lambda: nn.GroupNorm(num_groups=2, reduction_axes=(1, 2)).init(random.key(0), xg)),
  }

  inorm = {}
  for name, kw in [
      ('default', dict()),
      ('slow', dict(use_fast_variance=False)),
      ('feat_1_3', dict(feature_axes=(1, 3))),
      ('feat_2', dict(feature_axes=2)),
      ('no_bias', dict(use_bias=False)),
  ]:
    m = nn.InstanceNorm(scale_init=scale_init, bias_init=bias_init, **kw)
    y, v = m.init_with_output(random.key(0), xg)
    inorm[name] = {'y': y, 'vars': v, 'apply_offset': m.apply(v, xg + 100.0)}
  m = nn.InstanceNorm(scale_init=scale_init, bias_init=bias_init)
  v = m.init(random.key(0), xg)
  inorm['mask'] = {'y': m.apply(v, xg, mask=gmask), 'vars': v}
  out['inorm'] = inorm
  out['inorm_errors'] = {
      'batch_axis': error(lambda: nn.InstanceNorm(feature_axes=(0, -1)).init(random.key(0), xg)),
  }

  # ---- LayerNorm / RMSNorm: mask, variance at large offsets, axes -----------------------------
  xl = random.normal(random.key(9), (2, 3, 8))
  out['xl'] = xl
  lmask = random.bernoulli(random.key(10), 0.5, (2, 3, 8))
  lmask_b = random.bernoulli(random.key(11), 0.5, (2, 1, 8))  # broadcast over axis 1
  out['lmask'] = lmask
  out['lmask_b'] = lmask_b
  ln_mask = {}
  for name, make in [
      ('ln', lambda: nn.LayerNorm(scale_init=scale_init, bias_init=bias_init)),
      ('ln_slow', lambda: nn.LayerNorm(scale_init=scale_init, bias_init=bias_init, use_fast_variance=False)),
      ('ln_axes_1_2', lambda: nn.LayerNorm(scale_init=scale_init, bias_init=bias_init, reduction_axes=(1, 2))),
      ('rms', lambda: nn.RMSNorm(scale_init=scale_init)),
      ('rms_axes_1_2', lambda: nn.RMSNorm(scale_init=scale_init, reduction_axes=(1, 2))),
  ]:
    v = make().init(random.key(0), xl)
    ln_mask[name] = {'vars': v, 'y': make().apply(v, xl, mask=lmask), 'y_b': make().apply(v, xl, mask=lmask_b)}
  out['ln_mask'] = ln_mask

  ln_axes = {}
  for name, kw in [
      ('ra-1_fa-1', dict()),
      ('ra1_fa1', dict(reduction_axes=1, feature_axes=1)),
      ('ra12_fa-1', dict(reduction_axes=(1, 2), feature_axes=-1)),
      ('ra12_fa12', dict(reduction_axes=(1, 2), feature_axes=(1, 2))),
      ('ra-1_fa12', dict(reduction_axes=-1, feature_axes=(1, 2))),
      ('ra012_fa0', dict(reduction_axes=(0, 1, 2), feature_axes=0)),
  ]:
    case = {}
    for fast in (True, False):
      m = nn.LayerNorm(scale_init=scale_init, bias_init=bias_init, use_fast_variance=fast, **kw)
      v = m.init(random.key(0), xl)
      c = {'vars': v}
      for off in (0.0, 1e4, 1e6):
        c[f'off_{off:g}'] = m.apply(v, xl + off)
      case['fast' if fast else 'slow'] = c
    r = nn.RMSNorm(scale_init=scale_init, **kw)
    v = r.init(random.key(0), xl)
    case['rms'] = {'vars': v, 'off_0': r.apply(v, xl), 'off_10000': r.apply(v, xl + 1e4)}
    ln_axes[name] = case
  out['ln_axes'] = ln_axes
  return out


if __name__ == '__main__':
  write('norm_vision', 'nn.BatchNorm, nn.GroupNorm, nn.InstanceNorm, and LayerNorm/RMSNorm masks and axes (scripts/golden/norm_vision.py).', scenarios, bits=True)

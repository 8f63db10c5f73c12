"""Golden values for flax.linen's activation re-exports of jax.nn (issue 12, item 2): softplus,
log_sigmoid, elu, celu, selu, leaky_relu, relu6, hard_sigmoid, hard_silu/hard_swish, hard_tanh,
soft_sign, glu and standardize, from real JAX on CPU. Run with jax 0.10.2 / flax 0.12.8:

    python scripts/golden/activations.py > __test__/golden/activations.json

float32 arrays are written as their uint32 bit patterns (`bits`), so inputs reach the tests
exactly and NaN/inf survive JSON. Tests never run Python. No input or output is subnormal: XLA's
CPU runs with denormals flushed (a comparison sees a subnormal as 0), which flaxen does not
model outside the kernels where it was measured (docs/architecture.md).
"""

import json

import flax.linen as nn
import jax
import numpy as np


def enc(x):
  if isinstance(x, dict):
    return {k: enc(v) for k, v in x.items()}
  a = np.asarray(x)
  assert a.dtype == np.float32, a.dtype
  return {'shape': list(a.shape), 'dtype': 'float32', 'bits': a.reshape(-1).view(np.uint32).tolist()}


def scenarios():
  out = {}
  rng = np.random.default_rng(12)
  f32 = np.float32
  special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, -1e-8, 1e-8, 0.5, -0.5,
                      1.0, -1.0, 3.0, -3.0, 2.9999998, -3.0000002, 6.0, 6.0000005, 5.9999995, 15.0,
                      16.0, 17.0, -15.0, -17.0, 20.0, -20.0, 30.0, -30.0, 88.0, 89.0, -88.0, -104.0,
                      1e4, -1e4, 3.4e38, -3.4e38], dtype=f32)
  sweeps = [rng.uniform(-10, 10, 1500), rng.uniform(-1, 1, 500), rng.uniform(-40, 40, 500),
            rng.uniform(-0.5, 0.5, 300) * 10.0**rng.uniform(-8, 0, 300)]
  x = np.concatenate([special] + [s.astype(f32) for s in sweeps]).astype(f32)
  out['x'] = x
  out['softplus'] = nn.softplus(x)
  out['log_sigmoid'] = nn.log_sigmoid(x)
  out['elu'] = nn.elu(x)
  out['elu_alpha'] = nn.elu(x, alpha=0.5)
  out['celu'] = nn.celu(x)
  out['celu_alpha'] = nn.celu(x, alpha=0.7)
  out['selu'] = nn.selu(x)
  out['leaky_relu'] = nn.leaky_relu(x)
  out['leaky_relu_slope'] = nn.leaky_relu(x, negative_slope=0.2)
  out['relu6'] = nn.relu6(x)
  out['hard_sigmoid'] = nn.hard_sigmoid(x)
  out['hard_swish'] = nn.hard_swish(x)
  out['hard_silu'] = jax.nn.hard_silu(x)
  out['hard_tanh'] = nn.hard_tanh(x)
  out['soft_sign'] = nn.soft_sign(x)

  g = rng.normal(size=(6, 8)).astype(f32) * 3
  out['g'] = g
  out['glu'] = nn.glu(g)
  out['glu_axis0'] = nn.glu(g, axis=0)

  # Moderate offsets: the fast variance E[x²] − E[x]² cancels, and XLA sums in float32 where
  # flaxen sums in float64, so large offsets would measure JAX's rounding, not the formula.
  s = (rng.normal(size=(4, 5, 16)) * rng.uniform(0.5, 5, size=(4, 5, 1)) + rng.uniform(-3, 3, size=(4, 5, 1))).astype(f32)
  out['s'] = s
  out['standardize'] = nn.standardize(s)
  out['standardize_axis'] = nn.standardize(s, axis=(0, 2), epsilon=1e-3)
  m = s.mean(axis=-1, keepdims=True).astype(f32)
  v = s.var(axis=-1, keepdims=True).astype(f32)
  out['std_mean'], out['std_var'] = m, v
  out['standardize_given'] = nn.standardize(s, mean=m, variance=v)
  out['standardize_stable'] = jax.nn.standardize(s, algorithm='stable')
  # A constant row: the fast variance may come out negative and is clipped to 0.
  c = np.full((2, 16), 1000.1, dtype=f32)
  assert not any(np.any((a != 0) & (np.abs(a) < np.finfo(f32).tiny)) for a in out.values())
  out['c'] = c
  out['standardize_const'] = nn.standardize(c)
  return out


if __name__ == '__main__':
  json.dump({'jax': jax.__version__, 'expect': enc(scenarios())}, __import__('sys').stdout)

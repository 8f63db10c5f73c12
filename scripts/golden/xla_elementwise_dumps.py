"""Elementwise reference dumps of XLA's float32 log, log1p, erf, erf_inv, sin, cos, exp, expm1 and
tanh (jax 0.10.2, CPU),
for crates/flaxen-core/tests/prng_sampling_scale.rs::xla_elementwise_dumps. Too big to commit
(~1.6 GB), so written to a directory of your choice and read when FLAXEN_XLA_DUMPS points at it:

    python scripts/golden/xla_elementwise_dumps.py /tmp/xla-dumps [name ...]
    FLAXEN_XLA_DUMPS=/tmp/xla-dumps cargo test -p flaxen-core --release --test prng_sampling_scale

Inputs are strided float32 bit patterns (strides coprime with the mantissa width, so every
exponent and varied mantissas are hit) plus denser runs where the functions do their work: all
of [0.5, 2) for log, [2^-7, 32) at stride 3 for sin/cos, |x| in [2^-26, 128) at stride 7 for
exp/expm1. Each function is one jitted
op over a large array, i.e. XLA's vectorised kernel.
"""
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def dump(out, name, f, bits):
  y = np.asarray(jax.jit(f)(jnp.asarray(bits.view(np.float32))))
  bits.astype('<u4').tofile(f'{out}/{name}_in.u32')
  y.astype('<f4').tofile(f'{out}/{name}_out.f32')
  print(name, len(bits), file=sys.stderr)


def main(out, names):
  u = np.uint32
  pos = np.arange(0, 0x7f800001, 61, dtype=u)
  specials = np.array([0x80000000, 0xbf800000, 0x7fc00000, 0x7f800000, 0xff800000], u)
  both = lambda lo, hi, step: np.concatenate([np.arange(lo, hi, step, dtype=u),
                                              np.arange(lo | 0x80000000, hi | 0x80000000, step, dtype=u)])
  everywhere = both(0, 0x7f800001, 127)
  exp_inputs = np.concatenate([everywhere, both(0x32800000, 0x43000000, 7), specials])
  todo = {
      'log': (jnp.log, lambda: np.concatenate([pos, np.arange(0x3f000000, 0x40000000, dtype=u), specials])),
      'log1p': (jnp.log1p, lambda: np.concatenate([pos, np.arange(0x80000000, 0xbf800001, 29, dtype=u), specials])),
      'erf': (lax.erf, lambda: everywhere),
      'erf_inv': (lax.erf_inv, lambda: both(0, 0x3f800001, 37)),
      'sin': (jnp.sin, lambda: np.concatenate([everywhere, both(0x3c000000, 0x42000000, 3), specials])),
      'cos': (jnp.cos, lambda: np.concatenate([everywhere, both(0x3c000000, 0x42000000, 3), specials])),
      'exp': (jnp.exp, lambda: exp_inputs),
      'expm1': (jnp.expm1, lambda: exp_inputs),
      'tanh': (jnp.tanh, lambda: np.concatenate([everywhere, specials])),
  }
  for name in names or todo:
    f, inputs = todo[name]
    dump(out, name, f, inputs())


if __name__ == '__main__':
  main(sys.argv[1], sys.argv[2:])

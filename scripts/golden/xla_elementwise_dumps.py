"""Elementwise reference dumps of XLA's float32 log, log1p, erf and erf_inv (jax 0.10.2, CPU),
for crates/flaxen-core/tests/prng_sampling_scale.rs::xla_elementwise_dumps. Too big to commit
(~1.6 GB), so written to a directory of your choice and read when FLAXEN_XLA_DUMPS points at it:

    python scripts/golden/xla_elementwise_dumps.py /tmp/xla-dumps
    FLAXEN_XLA_DUMPS=/tmp/xla-dumps cargo test -p flaxen-core --release --test prng_sampling_scale

Inputs are strided float32 bit patterns (strides coprime with the mantissa width, so every
exponent and varied mantissas are hit) plus all of [0.5, 2) for log. Each function is one jitted
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


def main(out):
  u = np.uint32
  pos = np.arange(0, 0x7f800001, 61, dtype=u)
  specials = np.array([0x80000000, 0xbf800000, 0x7fc00000, 0x7f800000, 0xff800000], u)
  dump(out, 'log', jnp.log, np.concatenate([pos, np.arange(0x3f000000, 0x40000000, dtype=u), specials]))
  dump(out, 'log1p', jnp.log1p, np.concatenate([pos, np.arange(0x80000000, 0xbf800001, 29, dtype=u), specials]))
  dump(out, 'erf', lax.erf, np.concatenate([np.arange(0, 0x7f800001, 127, dtype=u),
                                             np.arange(0x80000000, 0xff800001, 127, dtype=u)]))
  dump(out, 'erf_inv', lax.erf_inv, np.concatenate([np.arange(0, 0x3f800001, 37, dtype=u),
                                                     np.arange(0x80000000, 0xbf800001, 37, dtype=u)]))


if __name__ == '__main__':
  main(sys.argv[1])

"""Streams XLA's float32 results for EVERY float32 bit pattern (0 .. 2^32-1, in order) to
stdout, for crates/flaxen-core/examples/xla_exhaustive.rs to compare with flaxen's kernels:

    python scripts/golden/xla_exhaustive.py exp | \
      cargo run --release --locked -p flaxen-core --example xla_exhaustive -- exp

16 GiB per function through the pipe (nothing is stored); a few minutes each. Functions: sin,
cos, exp, expm1, tanh (one jitted jnp op over chunks of 2^26 elements: XLA's vectorised kernel).
"""
import sys

import jax
import jax.numpy as jnp
import numpy as np

CHUNK = 1 << 26


def main(name):
  f = jax.jit(getattr(jnp, name))
  out = sys.stdout.buffer
  for start in range(0, 1 << 32, CHUNK):
    bits = np.arange(start, start + CHUNK, dtype=np.uint64).astype(np.uint32)
    y = np.asarray(f(jnp.asarray(bits.view(np.float32))))
    out.write(y.astype('<f4').tobytes())
    print(f'{name}: {start + CHUNK:#x}', file=sys.stderr, end='\r')
  out.flush()
  print(file=sys.stderr)


if __name__ == '__main__':
  main(sys.argv[1])

"""Golden values for jnp.einsum (ts/einsum.ts) from real JAX on CPU: typical transformer and
linear-algebra subscripts. Run with jax 0.10.2 / flax 0.12.8:

    python scripts/golden/einsum.py > __test__/golden/einsum.json

float32 arrays are written as their uint32 bit patterns (`bits`), so inputs reach the tests
exactly; other arrays as {shape, dtype, data}. Tests never run Python.
"""


import flax
import jax
import jax.numpy as jnp
import numpy as np

import golden_doc




def scenarios():
  rng = np.random.default_rng(2024)
  f32 = np.float32
  normal = lambda *shape: rng.standard_normal(shape).astype(f32)
  cases = [
      # attention: scores and weighted values, (batch, query/key, heads, head dim)
      ('bqhd,bkhd->bhqk', [normal(2, 5, 3, 8), normal(2, 6, 3, 8)]),
      ('bhqk,bkhd->bqhd', [normal(2, 3, 5, 6), normal(2, 6, 3, 8)]),
      # dense layers over any batch axes; x @ w.T
      ('...d,df->...f', [normal(2, 3, 8), normal(8, 5)]),
      ('btd,de->bte', [normal(2, 4, 16), normal(16, 3)]),
      ('ij,kj->ik', [normal(4, 7), normal(5, 7)]),
      # linear algebra
      ('ii', [normal(5, 5)]),
      ('ii->i', [normal(5, 5)]),
      ('...ii->...i', [normal(2, 4, 4)]),
      ('ij->ji', [normal(3, 4)]),
      ('ijk->kji', [normal(2, 3, 4)]),
      ('i,i', [normal(7), normal(7)]),
      ('i,i->i', [normal(6), normal(6)]),
      ('ij,j->i', [normal(4, 6), normal(6)]),
      ('bij,bjk->bik', [normal(2, 3, 4), normal(2, 4, 5)]),
      ('ij,jk,kl->il', [normal(3, 4), normal(4, 5), normal(5, 2)]),
      ('i,j->ij', [normal(4), normal(3)]),
      ('ij,ij->', [normal(3, 4), normal(3, 4)]),
      ('ij,ij->ij', [normal(3, 4), normal(3, 4)]),
      ('ijk->', [normal(2, 3, 4)]),
      ('ijk->j', [normal(2, 3, 4)]),
      # implicit output: letters used once, sorted (upper case first)
      ('bqd,bkd', [normal(2, 3, 4), normal(2, 5, 4)]),
      ('Ab,bC', [normal(3, 4), normal(4, 2)]),
      # size-1 broadcasting of a contracted index and of '...'
      ('ij,jk->ik', [normal(3, 1), normal(4, 5)]),
      ('...ij,...jk->...ik', [normal(2, 1, 3, 4), normal(5, 4, 2)]),
      # integers stay int32, exact
      ('ij,jk->ik', [rng.integers(-9, 9, (3, 4)).astype(np.int32), rng.integers(-9, 9, (4, 2)).astype(np.int32)]),
  ]
  out = []
  for subscripts, operands in cases:
    out.append({'subscripts': subscripts, 'operands': operands, 'out': jnp.einsum(subscripts, *operands)})
  return out


if __name__ == '__main__':
  golden_doc.write('einsum', 'jnp.einsum on typical subscripts (scripts/golden/einsum.py).', scenarios, bits=True, key='cases')

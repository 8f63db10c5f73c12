"""Golden values for flax.linen.attention: the attention functions and mask helpers,
MultiHeadDotProductAttention (init params, outputs with and without a mask, dropout with an
rng, normalize_qk, sow_weights) and its decode cache step by step, from real Flax on CPU.
Run with jax 0.10.2 / flax 0.12.8:

    python scripts/golden/attention.py > __test__/golden/attention.json

float32 arrays are written as their uint32 bit patterns (`bits`).
"""


import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

import golden_doc
from jax import random




def scenarios():
  out = {}
  rng = np.random.default_rng(7)
  f32 = np.float32
  q = rng.standard_normal((2, 5, 3, 4)).astype(f32)
  k = rng.standard_normal((2, 6, 3, 4)).astype(f32)
  v = rng.standard_normal((2, 6, 3, 4)).astype(f32)
  bias = rng.standard_normal((2, 3, 5, 6)).astype(f32)
  mask = rng.uniform(size=(2, 1, 5, 6)) > 0.3
  out.update(q=q, k=k, v=v, bias=bias, mask=mask)
  out['weights'] = nn.dot_product_attention_weights(q, k)
  out['weights_bias_mask'] = nn.dot_product_attention_weights(q, k, bias=bias, mask=mask)
  out['attn'] = nn.dot_product_attention(q, k, v)
  out['attn_mask'] = nn.dot_product_attention(q, k, v, mask=mask)
  out['attn_dropout'] = nn.dot_product_attention(q, k, v, dropout_rng=random.key(4), dropout_rate=0.3, deterministic=False)
  out['attn_dropout_nb'] = nn.dot_product_attention(q, k, v, dropout_rng=random.key(4), dropout_rate=0.3, deterministic=False, broadcast_dropout=False)
  toks = np.array([[1, 2, 0, 0], [3, 0, 0, 5]], np.int32)
  out['toks'] = toks
  out['causal'] = nn.make_causal_mask(jnp.ones((3, 16)))
  out['causal_extra'] = nn.make_causal_mask(toks, extra_batch_dims=1, dtype=jnp.int32)
  out['pad_mask'] = nn.make_attention_mask(toks > 0, toks > 0)
  out['combined'] = nn.combine_masks(nn.make_attention_mask(toks > 0, toks > 0), nn.make_causal_mask(toks), None)

  x = rng.standard_normal((2, 7, 8)).astype(f32)
  y = rng.standard_normal((2, 9, 6)).astype(f32)
  out['x'], out['y'] = x, y
  mha = nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=8)
  vs = mha.init(random.key(0), x)
  out['mha_params'] = vs['params']
  out['mha_self'] = mha.apply(vs, x)
  cm = nn.make_causal_mask(jnp.ones((2, 7)))
  out['mha_causal'] = mha.apply(vs, x, mask=cm)
  cross = nn.MultiHeadDotProductAttention(num_heads=4, qkv_features=8, out_features=5)
  cvs = cross.init(random.key(1), x, y)
  out['cross_params'] = cvs['params']
  out['cross'] = cross.apply(cvs, x, y)
  drop = nn.MultiHeadDotProductAttention(num_heads=2, dropout_rate=0.4, deterministic=False)
  dvs = drop.init({'params': random.key(2), 'dropout': random.key(3)}, x)
  out['drop_params'] = dvs['params']
  out['drop'] = drop.apply(dvs, x, rngs={'dropout': random.key(5)})
  nq = nn.MultiHeadDotProductAttention(num_heads=2, normalize_qk=True, use_bias=False)
  nvs = nq.init(random.key(6), x)
  out['nqk_params'] = nvs['params']
  out['nqk'] = nq.apply(nvs, x)
  o, st = mha.apply(vs, x, sow_weights=True, mutable=['intermediates'])
  out['sowed'] = st['intermediates']['attention_weights'][0]

  dec = nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=8, decode=True)
  dvars = dec.init(random.key(0), x)
  out['dec_cache_init'] = dvars['cache']
  params = dvars['params']
  cache = dvars['cache']
  steps = []
  for i in range(4):
    yi, upd = dec.apply({'params': params, 'cache': cache}, x[:, i:i + 1], mutable=['cache'])
    cache = upd['cache']
    steps.append(yi)
  out['dec_steps'] = steps
  out['dec_cache_after'] = cache
  out['dec_full'] = mha.apply({'params': params}, x, mask=cm)
  return out


if __name__ == '__main__':
  golden_doc.write('attention', 'flax.linen.attention (scripts/golden/attention.py).', scenarios, bits=True)

"""Golden values for examples/lm1b.ts: Flax's lm1b example model (TransformerLM, decoder only),
on jax 0.10.2 / flax 0.12.8 (CPU). Run from the repository root:

    /tmp/venv-i10/bin/python scripts/golden/lm1b.py > __test__/golden/lm1b.json

The model definition below is a copy of flax/examples/lm1b/models.py (google/flax, the lm1b
example; Apache 2.0), trimmed to what TransformerLM runs: TransformerConfig, shift_right /
shift_inputs, sinusoidal_init, AddPositionEmbs (with its decode `cache_index`), MlpBlock,
EncoderDecoder1DBlock, Decoder and TransformerLM. The docstrings are dropped and the four
identical LayerNorm constructions share a helper (`_layer_norm`, created in the same compact
scope, so auto-named as in the example); the `nn.with_logical_partitioning` metadata boxes are
kept and unboxed (`nn.meta.unbox`) before writing, so the initializers draw exactly what the
example draws.

Recorded, for a small config (vocab 40, emb 16, 2 heads, 2 layers, qkv 16, mlp 32, max_len 20,
dropout 0, deterministic) in two variants — `sinusoidal` (posemb_init None, logits from a
`logitdense` Dense) and `learned` (posemb_init normal(0.02), logits_via_embedding: the shared
embedding's `attend`) —: the params of `init(random.key(0), inputs)` for int32 inputs [2, 8]
with trailing 0 padding in the second row, the logits of `apply`, the cache tree of a decode=True
init, and a decode run: the shifted inputs fed one token per call with mutable=['cache'], the
per-step logits stacked [2, 8, vocab].

float32 arrays are written as their uint32 bit patterns (`bits`).
"""

from typing import Any
from collections.abc import Callable

import flax
import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import struct
from flax.traverse_util import flatten_dict
from jax import lax

import golden_doc


# --- flax/examples/lm1b/models.py (copy) ------------------------------------------------------

@struct.dataclass
class TransformerConfig:
  vocab_size: int
  output_vocab_size: int
  share_embeddings: bool = False
  logits_via_embedding: bool = False
  dtype: Any = jnp.float32
  emb_dim: int = 512
  num_heads: int = 8
  num_layers: int = 6
  qkv_dim: int = 512
  mlp_dim: int = 2048
  max_len: int = 2048
  dropout_rate: float = 0.1
  attention_dropout_rate: float = 0.1
  deterministic: bool = False
  decode: bool = False
  kernel_init: Callable = nn.initializers.xavier_uniform()
  bias_init: Callable = nn.initializers.normal(stddev=1e-6)
  posemb_init: Callable | None = None


def shift_right(x, axis=1):
  pad_widths = [(0, 0)] * len(x.shape)
  pad_widths[axis] = (1, 0)
  padded = jnp.pad(x, pad_widths, mode='constant', constant_values=x.dtype.type(0))
  return lax.dynamic_slice_in_dim(padded, 0, padded.shape[axis] - 1, axis)


def shift_inputs(x, segment_ids=None, axis=1):
  shifted = shift_right(x, axis=axis)
  if segment_ids is not None:
    shifted *= segment_ids == shift_right(segment_ids, axis=axis)
  return shifted


def sinusoidal_init(max_len=2048, min_scale=1.0, max_scale=10000.0):
  def init(key, shape, dtype=np.float32):
    del key, dtype
    d_feature = shape[-1]
    pe = np.zeros((max_len, d_feature), dtype=np.float32)
    position = np.arange(0, max_len)[:, np.newaxis]
    scale_factor = -np.log(max_scale / min_scale) / (d_feature // 2 - 1)
    div_term = min_scale * np.exp(np.arange(0, d_feature // 2) * scale_factor)
    pe[:, : d_feature // 2] = np.sin(position * div_term)
    pe[:, d_feature // 2 : 2 * (d_feature // 2)] = np.cos(position * div_term)
    pe = pe[np.newaxis, :, :]
    return jnp.array(pe)
  return init


class AddPositionEmbs(nn.Module):
  config: TransformerConfig
  decode: bool = False

  @nn.compact
  def __call__(self, inputs, inputs_positions=None):
    config = self.config
    assert inputs.ndim == 3
    length = inputs.shape[1]
    pos_emb_shape = (1, config.max_len, inputs.shape[-1])
    if config.posemb_init is None:
      pos_embedding = sinusoidal_init(max_len=config.max_len)(None, pos_emb_shape, None)
    else:
      pos_embedding = self.param('pos_embedding', config.posemb_init, pos_emb_shape)
    pe = pos_embedding[:, :length, :]
    if self.decode:
      is_initialized = self.has_variable('cache', 'cache_index')
      cache_index = self.variable('cache', 'cache_index', lambda: jnp.array(0, dtype=jnp.uint32))
      if is_initialized:
        i = cache_index.value
        cache_index.value = i + 1
        _, _, df = pos_embedding.shape
        pe = lax.dynamic_slice(pos_embedding, jnp.array((0, i, 0)), (1, 1, df))
    if inputs_positions is None:
      return inputs + pe
    else:
      return inputs + jnp.take(pe[0], inputs_positions, axis=0)


class MlpBlock(nn.Module):
  config: TransformerConfig
  out_dim: int | None = None

  @nn.compact
  def __call__(self, inputs):
    config = self.config
    actual_out_dim = inputs.shape[-1] if self.out_dim is None else self.out_dim
    x = nn.Dense(config.mlp_dim, dtype=config.dtype,
                 kernel_init=nn.with_logical_partitioning(config.kernel_init, ('embed', 'mlp')),
                 bias_init=nn.with_logical_partitioning(config.bias_init, ('mlp',)))(inputs)
    x = nn.relu(x)
    x = nn.Dropout(rate=config.dropout_rate)(x, deterministic=config.deterministic)
    output = nn.Dense(actual_out_dim, dtype=config.dtype,
                      kernel_init=nn.with_logical_partitioning(config.kernel_init, ('mlp', 'embed')),
                      bias_init=nn.with_logical_partitioning(config.bias_init, ('embed',)))(x)
    output = nn.Dropout(rate=config.dropout_rate)(output, deterministic=config.deterministic)
    return output


def _layer_norm(config, name=None):
  return nn.LayerNorm(dtype=config.dtype, name=name,
                      bias_init=nn.with_logical_partitioning(nn.initializers.zeros, ('embed',)),
                      scale_init=nn.with_logical_partitioning(nn.initializers.ones, ('embed',)))


class EncoderDecoder1DBlock(nn.Module):
  config: TransformerConfig

  @nn.compact
  def __call__(self, inputs, decoder_mask=None, encoder_decoder_mask=None):
    config = self.config
    assert inputs.ndim == 3
    x = _layer_norm(config)(inputs)
    x = nn.MultiHeadDotProductAttention(
        num_heads=config.num_heads, dtype=config.dtype, qkv_features=config.qkv_dim,
        kernel_init=nn.with_logical_partitioning(config.kernel_init, ('embed', 'kv')),
        bias_init=nn.with_logical_partitioning(config.bias_init, ('embed',)),
        use_bias=False, broadcast_dropout=False, dropout_rate=config.attention_dropout_rate,
        deterministic=config.deterministic, decode=config.decode,
    )(x, mask=decoder_mask)
    x = nn.Dropout(rate=config.dropout_rate)(x, deterministic=config.deterministic)
    x = x + inputs
    z = _layer_norm(config)(x)
    z = MlpBlock(config=config)(z)
    return x + z


class Decoder(nn.Module):
  config: TransformerConfig
  shared_embedding: Any = None

  @nn.compact
  def __call__(self, inputs, inputs_positions=None, inputs_segmentation=None, decoder_mask=None, encoder_decoder_mask=None):
    config = self.config
    assert inputs.ndim == 2
    if self.shared_embedding is None:
      output_embed = nn.Embed(num_embeddings=config.output_vocab_size, features=config.emb_dim,
                              embedding_init=nn.with_logical_partitioning(nn.initializers.normal(stddev=1.0), ('vocab', 'embed')))
    else:
      output_embed = self.shared_embedding
    y = inputs.astype('int32')
    if not config.decode:
      y = shift_inputs(y, segment_ids=inputs_segmentation)
    y = output_embed(y)
    y = AddPositionEmbs(config=config, decode=config.decode, name='posembed_output')(y, inputs_positions=inputs_positions)
    y = nn.Dropout(rate=config.dropout_rate)(y, deterministic=config.deterministic)
    y = y.astype(config.dtype)
    for lyr in range(config.num_layers):
      y = EncoderDecoder1DBlock(config=config, name=f'encoderdecoderblock_{lyr}')(
          y, decoder_mask=decoder_mask, encoder_decoder_mask=encoder_decoder_mask)
    y = _layer_norm(config, name='encoderdecoder_norm')(y)
    if config.logits_via_embedding:
      logits = output_embed.attend(y.astype(jnp.float32))
      logits = logits / jnp.sqrt(y.shape[-1])
    else:
      logits = nn.Dense(config.output_vocab_size, dtype=config.dtype,
                        kernel_init=nn.with_logical_partitioning(config.kernel_init, ('embed', 'vocab')),
                        bias_init=nn.with_logical_partitioning(config.bias_init, ('vocab',)),
                        name='logitdense')(y)
    return logits


class TransformerLM(nn.Module):
  config: TransformerConfig

  @nn.compact
  def __call__(self, inputs, inputs_positions=None, inputs_segmentation=None):
    config = self.config
    if config.decode:
      decoder_mask = None
    else:
      decoder_mask = nn.combine_masks(
          nn.make_attention_mask(inputs > 0, inputs > 0, dtype=config.dtype),
          nn.make_causal_mask(inputs, dtype=config.dtype))
    if inputs_segmentation is not None:
      decoder_mask = nn.combine_masks(
          decoder_mask,
          nn.make_attention_mask(inputs_segmentation, inputs_segmentation, jnp.equal, dtype=config.dtype))
    logits = Decoder(config=config, shared_embedding=None, name='decoder')(
        inputs, inputs_positions=inputs_positions, inputs_segmentation=inputs_segmentation,
        decoder_mask=decoder_mask, encoder_decoder_mask=None)
    return logits.astype(self.config.dtype)

# --- end of the copy ----------------------------------------------------------------------------




def scenarios():
  inputs = np.array([[5, 17, 3, 39, 22, 8, 1, 30],
                     [12, 7, 25, 2, 34, 0, 0, 0]], np.int32)
  out = {'inputs': inputs}
  small = dict(vocab_size=40, output_vocab_size=40, emb_dim=16, num_heads=2, num_layers=2, qkv_dim=16, mlp_dim=32,
               max_len=20, dropout_rate=0.0, attention_dropout_rate=0.0, deterministic=True)
  variants = {
      'sinusoidal': dict(posemb_init=None, logits_via_embedding=False),
      'learned': dict(posemb_init=nn.initializers.normal(stddev=0.02), logits_via_embedding=True),
  }
  for name, extra in variants.items():
    config = TransformerConfig(**small, **extra)
    model = TransformerLM(config)
    variables = nn.meta.unbox(model.init(jax.random.key(0), inputs))
    params = variables['params']
    logits = model.apply({'params': params}, inputs)
    # Decode: the cache from a decode=True init on [2, 8] (the cache length), then the shifted
    # inputs one token per call.
    dconfig = config.replace(decode=True)
    dmodel = TransformerLM(dconfig)
    dvars = nn.meta.unbox(dmodel.init(jax.random.key(0), inputs))
    cache = dvars['cache']
    shifted = np.asarray(shift_right(jnp.asarray(inputs)))
    steps = []
    for i in range(inputs.shape[1]):
      step_logits, upd = dmodel.apply({'params': params, 'cache': cache}, shifted[:, i:i + 1], mutable=['cache'])
      cache = upd['cache']
      steps.append(np.asarray(step_logits))
    out[name] = {
        'params': params,
        'decode_init_params_same': bool(all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(dvars['params'])))),
        'logits': logits,
        'cache_tree': {'/'.join(k): [list(v.shape), str(v.dtype)] for k, v in sorted(flatten_dict(dvars['cache']).items())},
        'decode_logits': np.concatenate(steps, axis=1),
        'final_cache': cache,
    }
  return out


if __name__ == '__main__':
  golden_doc.write('lm1b', "Flax's lm1b TransformerLM (flax/examples/lm1b/models.py), small config (scripts/golden/lm1b.py).", scenarios, bits=True)

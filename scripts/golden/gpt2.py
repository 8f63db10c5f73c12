"""Golden values for examples/gpt2.ts: a tiny Hugging Face FlaxGPT2LMHeadModel with every weight
perturbed (HF initialises biases to 0 and LayerNorms to 1/0, which would hide a bias or a
LayerNorm wired wrongly in a port), saved with `save_pretrained` into
__test__/fixtures/gpt2-tiny/ (config.json + flax_model.msgpack), and its outputs: the full
forward's logits, the logits with left padding, and `generate` (greedy, greedy with left padding,
and sampling with temperature + top-k from a fixed key), from transformers 4.57.6 on jax 0.10.2 /
flax 0.12.8 (CPU). Run from the repository root:

    python scripts/golden/gpt2.py > __test__/golden/gpt2.json

float32 arrays are written as their uint32 bit patterns (`bits`). transformers 4.57.6 pins
huggingface-hub < 1.0; the venv this ran in has 1.33 with the pin relaxed in
transformers/dependency_versions_table.py (a local folder never contacts the hub).
"""

import os

import flax
import jax
import jax.numpy as jnp
import numpy as np

import golden_doc
import transformers
from flax.traverse_util import flatten_dict, unflatten_dict
from transformers import FlaxGPT2LMHeadModel, GPT2Config

FIXTURE = os.path.join(os.path.dirname(__file__), '..', '..', '__test__', 'fixtures', 'gpt2-tiny')




def margins(model, params, sequences, prompt_len, attention_mask=None):
  """The gap between the two largest logits at every generated position (full forward over the
  generated sequence): a greedy token a port could flip needs a gap near float32 rounding."""
  seq = np.asarray(sequences)
  mask = np.ones_like(seq) if attention_mask is None else np.concatenate(
      [np.asarray(attention_mask), np.ones((seq.shape[0], seq.shape[1] - prompt_len), np.int32)], axis=1)
  pos = np.maximum(mask.cumsum(-1) - 1, 0)
  logits = np.asarray(model(seq, attention_mask=mask, position_ids=pos, params=params).logits)
  top2 = np.sort(logits[:, prompt_len - 1:-1], axis=-1)[..., -2:]
  return float((top2[..., 1] - top2[..., 0]).min())


def scenarios():
  config = GPT2Config(vocab_size=64, n_positions=32, n_embd=32, n_layer=2, n_head=4, activation_function='gelu_new')
  model = FlaxGPT2LMHeadModel(config, seed=0)
  # Perturb every leaf: weights, biases, LayerNorm scales and biases all different from init
  # (kernels and embeddings by N(0, 0.3²), so that greedy decoding does not settle on one token).
  rng = np.random.default_rng(12)
  flat = flatten_dict(jax.device_get(model.params))
  noise = lambda k, v: rng.normal(0, 0.3 if k[-1] in ('kernel', 'embedding') else 0.1, v.shape)
  flat = {k: (np.asarray(v) + noise(k, v)).astype(np.float32) for k, v in sorted(flat.items())}
  params = unflatten_dict(flat)
  model.params = params
  model.save_pretrained(FIXTURE)
  # Only config.json and flax_model.msgpack are kept (generation_config.json repeats bos/eos).
  os.remove(os.path.join(FIXTURE, 'generation_config.json'))
  # Read back as a user would: what the fixture holds is what the goldens come from.
  model = FlaxGPT2LMHeadModel.from_pretrained(FIXTURE)
  params = model.params
  out = {}
  out['params_tree'] = {'/'.join(k): list(v.shape) for k, v in sorted(flatten_dict(params).items())}
  out['cache_tree'] = {'/'.join(k): [list(v.shape), str(v.dtype)] for k, v in sorted(flatten_dict(model.init_cache(2, 13)).items())}

  ids = np.random.default_rng(3).integers(0, config.vocab_size, (2, 7)).astype(np.int32)
  out['input_ids'] = ids
  out['logits'] = model(ids).logits
  # Left padding: the first row has 3 pad tokens. Positions as generate makes them (cumsum - 1:
  # pads get -1, which nn.Embed's jnp.take reads as the last row).
  mask = np.array([[0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]], np.int32)
  pos = (mask.cumsum(-1) - 1).astype(np.int32)
  out['attention_mask'] = mask
  out['position_ids'] = pos
  out['logits_masked'] = model(ids, attention_mask=mask, position_ids=pos).logits

  # Training mode: dropout everywhere (embd, attention weights, resid, mlp), rngs {'dropout': key}.
  out['dropout_seed'] = 1
  out['logits_train'] = model(ids, train=True, dropout_rng=jax.random.PRNGKey(1)).logits

  max_length = 13
  out['max_length'] = max_length
  g = model.generate(ids, max_length=max_length, do_sample=False).sequences
  out['greedy'] = g
  out['greedy_margin'] = margins(model, params, g, 7)
  gm = model.generate(ids, attention_mask=mask, max_length=max_length, do_sample=False).sequences
  out['greedy_masked'] = gm
  out['greedy_masked_margin'] = margins(model, params, gm, 7, mask)
  # Sampling: HF splits its key once per step (the first half samples, the second is carried),
  # divides by the temperature, keeps the top k (others -inf) and draws jax.random.categorical.
  out['sample_seed'] = 5
  out['temperature'] = 0.8
  out['top_k'] = 5
  s = model.generate(ids, max_length=max_length, do_sample=True, temperature=0.8, top_k=5, prng_key=jax.random.PRNGKey(5)).sequences
  out['sample'] = s
  s1 = model.generate(ids, max_length=max_length, do_sample=True, temperature=1.0, top_k=0, prng_key=jax.random.PRNGKey(6)).sequences
  out['sample_plain_seed'] = 6
  out['sample_plain'] = s1
  return out


if __name__ == '__main__':
  golden_doc.write('gpt2', 'Hugging Face FlaxGPT2LMHeadModel, tiny and perturbed (scripts/golden/gpt2.py; weights in __test__/fixtures/gpt2-tiny).', scenarios, bits=True, versions={'transformers': transformers.__version__})

"""Golden values for Flax's vision example models (scripts/golden/vision_models.py: the mnist
example's CNN, the imagenet example's ResNetBlock, BottleneckResNetBlock and ResNet), from real
JAX / Flax on CPU, so the TypeScript ports can check their init from the same key bit for bit
and their outputs against Flax's. Run from the repository root with jax 0.10.2 / flax 0.12.8:

    /tmp/venv-i10/bin/python scripts/golden/vision_models_golden.py > __test__/golden/vision-models.json

Every input is `jax.random.normal(jax.random.key(1), shape)` and every init is
`init(jax.random.key(0), x)` (ResNet with train=False, as the imagenet example initialises).
Recorded under `expect`:

- `cnn`: the mnist CNN on x [2, 28, 28, 1]: `params` (every leaf but Dense_0's [3136, 256]
  kernel, too big for JSON as bits: 8.8 MB), `dense0_kernel` (its shape, its first 16 rows as
  bits, and the SHA-256 of all of it as little-endian float32 bytes), `sha256` (the same digest
  of every param leaf, by '/'-joined path), `param_shapes` and the `logits`.
- `resnet_block`, `resnet_block_proj`, `bottleneck_block`, `bottleneck_block_proj`: one block
  alone with the conv / norm that ResNet hands it (`block_layers`), identity residual and strided
  + projection (conv_proj / norm_proj) each; `tiny_resnet` (ResNet stage_sizes [1, 1],
  ResNetBlock, num_filters 8, 10 classes, x [2, 32, 32, 3]) and `tiny_bottleneck_resnet` (the
  same with BottleneckResNetBlock and num_filters 4). Each case has `x`, `variables` (params and
  batch_stats of the init), `train` (the output `y` of `apply(variables, x,
  mutable=['batch_stats'])` in train mode and the updated `batch_stats`) and `eval` (`y` with
  use_running_average=True), and the same three again under `perturbed`: the init's variables
  with every BatchNorm scale, bias, mean and var replaced by deterministic non-trivial values
  (the blocks' last BatchNorm starts with scale 0, which would hide the whole residual branch,
  and fresh statistics make eval mode almost the identity).
- `resnet18`, `resnet50` (num_classes 1000, float32, x [1, 224, 224, 3]): shapes only, from
  `jax.eval_shape` of the init: `params` and `batch_stats` as {'/'-joined path: shape}, the
  counts `param_count` / `batch_stats_count` and the `logits_shape`.

float32 arrays are written as their uint32 bit patterns (`bits`). Tests never run Python.
"""

import hashlib

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.traverse_util import flatten_dict, unflatten_dict

import golden_doc
from vision_models import CNN, BottleneckResNetBlock, ResNet, ResNet18, ResNet50, ResNetBlock, block_layers


def sha256(a):
  return hashlib.sha256(np.ascontiguousarray(np.asarray(a, np.float32)).astype('<f4').tobytes()).hexdigest()


def flat(tree):
  return {'/'.join(k): v for k, v in flatten_dict(tree).items()}


def perturb(variables, seed):
  """Every BatchNorm's scale / bias (params) and mean / var (batch_stats) replaced, in path
  order, by numpy draws: scale 1 + 0.25·N(0, 1), bias 0.1·N(0, 1), mean 0.1·N(0, 1),
  var 0.5 + U(0, 1). Convs' and Dense's params are kept."""
  rng = np.random.default_rng(seed)
  out = {col: {path: np.asarray(v) for path, v in flatten_dict(variables[col]).items()} for col in ('params', 'batch_stats')}
  # BatchNorm leaves: all of batch_stats; in params, the scale/bias of a module that also has
  # batch statistics (Dense_0's bias is not one of them).
  norm_modules = {path[:-1] for path in out['batch_stats']}
  for col in ('params', 'batch_stats'):
    for path in sorted(out[col]):
      if path[:-1] not in norm_modules:
        continue
      v = out[col][path]
      name = path[-1]
      if name == 'scale':
        new = 1 + 0.25 * rng.standard_normal(v.shape)
      elif name == 'bias':
        new = 0.1 * rng.standard_normal(v.shape)
      elif name == 'mean':
        new = 0.1 * rng.standard_normal(v.shape)
      elif name == 'var':
        new = 0.5 + rng.uniform(size=v.shape)
      else:
        raise ValueError(path)
      out[col][path] = new.astype(np.float32)
  return {col: unflatten_dict(leaves) for col, leaves in out.items()}


def run_modes(train_model, eval_model, variables, x):
  """The train-mode output and updated batch_stats, and the eval-mode output."""
  y_train, updated = train_model.apply(variables, x, mutable=['batch_stats'])
  y_eval = eval_model.apply(variables, x)
  return {'train': {'y': y_train, 'batch_stats': updated['batch_stats']}, 'eval': {'y': y_eval}}


def normal_x(shape):
  return jax.random.normal(jax.random.key(1), shape)


def scenarios():
  out = {}

  # --- mnist CNN, 28x28x1 as in the example -------------------------------------------------------
  x = normal_x((2, 28, 28, 1))
  params = CNN().init(jax.random.key(0), x)['params']
  logits = CNN().apply({'params': params}, x)
  kernel = params['Dense_0']['kernel']
  small = {m: {k: v for k, v in leaves.items() if (m, k) != ('Dense_0', 'kernel')} for m, leaves in params.items()}
  out['cnn'] = {
      'x': x,
      'params': small,
      'dense0_kernel': {'shape': list(kernel.shape), 'sha256': sha256(kernel), 'head': kernel[:16]},
      'sha256': {p: sha256(v) for p, v in flat(params).items()},
      'param_shapes': {p: list(v.shape) for p, v in flat(params).items()},
      'logits': logits,
  }

  # --- single blocks, with the conv / norm ResNet hands them --------------------------------------
  def block_case(block_cls, x_shape, seed, **kw):
    x = normal_x(x_shape)
    conv_t, norm_t = block_layers(train=True)
    conv_e, norm_e = block_layers(train=False)
    train_model = block_cls(conv=conv_t, norm=norm_t, act=nn.relu, **kw)
    eval_model = block_cls(conv=conv_e, norm=norm_e, act=nn.relu, **kw)
    variables = eval_model.init(jax.random.key(0), x)
    perturbed = perturb(variables, seed)
    return {
        'config': {'block': block_cls.__name__, 'strides': list(kw.get('strides', (1, 1))), **{k: v for k, v in kw.items() if k != 'strides'}},
        'x': x,
        'variables': variables,
        **run_modes(train_model, eval_model, variables, x),
        'perturbed': {'variables': perturbed, **run_modes(train_model, eval_model, perturbed, x)},
    }

  out['resnet_block'] = block_case(ResNetBlock, (2, 8, 8, 16), 10, filters=16)
  out['resnet_block_proj'] = block_case(ResNetBlock, (2, 8, 8, 16), 11, filters=32, strides=(2, 2))
  out['bottleneck_block'] = block_case(BottleneckResNetBlock, (2, 8, 8, 32), 12, filters=8)
  out['bottleneck_block_proj'] = block_case(BottleneckResNetBlock, (2, 8, 8, 16), 13, filters=8, strides=(2, 2))

  # --- tiny ResNets, whole ------------------------------------------------------------------------
  def resnet_case(model, x_shape, seed):
    x = normal_x(x_shape)
    variables = model.init(jax.random.key(0), x, train=False)
    perturbed = perturb(variables, seed)

    def modes(v):
      logits_train, updated = model.apply(v, x, train=True, mutable=['batch_stats'])
      logits_eval = model.apply(v, x, train=False)
      return {'train': {'y': logits_train, 'batch_stats': updated['batch_stats']}, 'eval': {'y': logits_eval}}

    return {'x': x, 'variables': variables, **modes(variables), 'perturbed': {'variables': perturbed, **modes(perturbed)}}

  out['tiny_resnet'] = resnet_case(
      ResNet(stage_sizes=[1, 1], block_cls=ResNetBlock, num_classes=10, num_filters=8), (2, 32, 32, 3), 20)
  out['tiny_bottleneck_resnet'] = resnet_case(
      ResNet(stage_sizes=[1, 1], block_cls=BottleneckResNetBlock, num_classes=10, num_filters=4), (2, 32, 32, 3), 21)

  # --- ResNet18 / ResNet50 at ImageNet size: shapes only ------------------------------------------
  def shapes(model):
    x = jnp.ones((1, 224, 224, 3))
    variables = jax.eval_shape(lambda: model.init(jax.random.key(0), x, train=False))
    logits = jax.eval_shape(lambda v: model.apply(v, x, train=False), variables)
    p = {k: list(v.shape) for k, v in flat(variables['params']).items()}
    s = {k: list(v.shape) for k, v in flat(variables['batch_stats']).items()}
    return {
        'params': p,
        'batch_stats': s,
        'param_count': int(sum(np.prod(v) for v in p.values())),
        'batch_stats_count': int(sum(np.prod(v) for v in s.values())),
        'logits_shape': list(logits.shape),
    }

  out['resnet18'] = shapes(ResNet18(num_classes=1000, dtype=jnp.float32))
  out['resnet50'] = shapes(ResNet50(num_classes=1000, dtype=jnp.float32))
  return out


if __name__ == '__main__':
  golden_doc.write(
      'vision-models',
      "Flax's vision example models (mnist CNN; imagenet ResNetBlock, BottleneckResNetBlock, ResNet, "
      'ResNet18 / ResNet50 shapes): init from key 0, outputs in train and eval mode '
      '(scripts/golden/vision_models_golden.py).',
      scenarios, bits=True)

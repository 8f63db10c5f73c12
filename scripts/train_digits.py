"""Train in Flax, serve in Node: Flax's mnist example CNN (linen, unchanged: see
scripts/golden/vision_models.py) trained on scikit-learn's digits (8x8 grey images, 1797 samples,
values 0..16 scaled to [0, 1] by /16; shipped inside scikit-learn, nothing is downloaded), then
written out for the TypeScript side. Run from the repository root with jax 0.10.2 / flax 0.12.8 /
optax 0.2.8 / scikit-learn 1.9.1 (CPU):

    /tmp/venv-i10/bin/python scripts/train_digits.py

It writes
- examples/digits/digits.msgpack: `flax.serialization.to_bytes({'params': params})`, the
  trained params (Conv_0, Conv_1, Dense_0, Dense_1; 87,178 float32; 348,967 bytes);
- examples/digits/test-set.json: the 360 test images (each flattened row-major from [8, 8, 1],
  values k/16, exact as float32 and in JSON), their labels and their rows in load_digits();
- __test__/golden/digits.json: Flax's logits for the 360 test images (float32 as uint32 bits),
  the predicted classes and the test accuracy (golden_doc.write, bits=True).

Data: `train_test_split(test_size=360, random_state=0, stratify=labels)` → 1437 train, 360 test.
Input NHWC [N, 8, 8, 1]: 8 → 4 → 2 after the CNN's two 2x2 average pools, so Dense_0 (256) sees
2·2·64 = 256 features. Params: `CNN().init(jax.random.key(0), jnp.ones([1, 8, 8, 1]))`.
Training: as the mnist example (softmax cross entropy, SGD with momentum 0.9, shuffled with
jax.random.permutation, the last partial batch dropped each epoch), with batch 32, 20 epochs
(44 steps each) and a cosine decay of the learning rate from 0.1 to 0 over the 880 steps.

Result: test accuracy 98.06 % (353 / 360), final train loss 0.0026; training takes 10 to 12 s
(jit compile included; the whole script 15 to 18 s wall with imports) on the 2-core CPU
machine. Deterministic: CPU XLA, fixed keys, fixed split; running the script twice gives
identical bytes in all three files.
"""

import functools
import json
import os
import sys
import time
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'golden'))

import flax  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import golden_doc  # noqa: E402
from vision_models import CNN  # noqa: E402

ROOT = os.path.dirname(HERE)
CHECKPOINT = os.path.join(ROOT, 'examples', 'digits', 'digits.msgpack')
TEST_SET = os.path.join(ROOT, 'examples', 'digits', 'test-set.json')
GOLDEN = os.path.join(ROOT, '__test__', 'golden', 'digits.json')

TEST_SIZE = 360
BATCH = 32
EPOCHS = 20
LEARNING_RATE = 0.1
MOMENTUM = 0.9


@functools.cache
def load_data():
  """(x_train, y_train), (x_test, y_test, test_rows): images [N, 8, 8, 1] float32 in [0, 1]."""
  digits = load_digits()
  images = (digits.images.astype(np.float32) / 16)[..., None]
  labels = digits.target.astype(np.int32)
  train_rows, test_rows = train_test_split(
      np.arange(len(labels)), test_size=TEST_SIZE, random_state=0, stratify=labels)
  return (images[train_rows], labels[train_rows]), (images[test_rows], labels[test_rows], test_rows)


@functools.cache
def train():
  """The trained params (a dict), as the mnist example trains, on the digits."""
  (x_train, y_train), _ = load_data()
  model = CNN()
  params = model.init(jax.random.key(0), jnp.ones([1, 8, 8, 1]))['params']
  steps_per_epoch = len(y_train) // BATCH
  tx = optax.sgd(optax.cosine_decay_schedule(LEARNING_RATE, EPOCHS * steps_per_epoch), MOMENTUM)
  opt_state = tx.init(params)

  @jax.jit
  def train_step(params, opt_state, images, labels):
    def loss_fn(params):
      logits = model.apply({'params': params}, images)
      return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = jax.random.key(1)
  for epoch in range(EPOCHS):
    rng, perm_rng = jax.random.split(rng)
    perms = np.asarray(jax.random.permutation(perm_rng, len(y_train)))
    perms = perms[:steps_per_epoch * BATCH].reshape((steps_per_epoch, BATCH))
    losses = []
    for perm in perms:
      params, opt_state, loss = train_step(params, opt_state, x_train[perm], y_train[perm])
      losses.append(loss)
    print(f'epoch {epoch + 1:2d}: train loss {float(np.mean(losses)):.5f}', file=sys.stderr)
  return params


def scenarios():
  """What Node must reproduce from digits.msgpack: the logits of the test set, its argmax."""
  params = train()
  _, (x_test, y_test, _) = load_data()
  logits = CNN().apply({'params': params}, x_test)  # [360, 10]
  predicted = np.asarray(jnp.argmax(logits, axis=-1)).astype(np.int32)
  correct = int(np.sum(predicted == y_test))
  return {
      'labels': y_test,
      'logits': logits,
      'predicted': predicted,
      'correct': correct,
      'accuracy': correct / len(y_test),
  }


def number(v):
  """A float32 value as the shortest JSON number that parses back (as a double, then rounded to
  float32) to exactly that float32; the digits' k/16 come out as 0, 0.0625, ..., 1."""
  s = repr(float(v))
  s = s[:-2] if s.endswith('.0') else s
  assert np.float32(float(s)) == v
  return s


def write_test_set():
  _, (x_test, y_test, test_rows) = load_data()
  flat = x_test.reshape(len(y_test), -1)
  head = {
      'about': ('The test split of scikit-learn\'s load_digits() used by scripts/train_digits.py: '
                'train_test_split(test_size=360, random_state=0, stratify=labels). Each image is '
                'flattened row-major from [8, 8, 1] (NHWC without the batch axis), pixel values '
                'k/16 for k in 0..16, exact as float32.'),
      'shape': [8, 8, 1],
      'count': len(y_test),
      'labels': y_test.tolist(),
      'rows': test_rows.tolist(),
  }
  lines = ['[' + ','.join(number(v) for v in img) + ']' for img in flat]
  text = json.dumps(head, separators=(',', ':'))[:-1] + ',"images":[\n' + ',\n'.join(lines) + '\n]}\n'
  with open(TEST_SET, 'w') as f:
    f.write(text)


def main():
  os.makedirs(os.path.dirname(CHECKPOINT), exist_ok=True)
  t0 = time.time()
  params = train()
  t1 = time.time()
  print(f'trained in {t1 - t0:.1f} s', file=sys.stderr)
  with open(CHECKPOINT, 'wb') as f:
    f.write(flax.serialization.to_bytes({'params': params}))
  write_test_set()
  with open(GOLDEN, 'w') as f, redirect_stdout(f):
    golden_doc.write(
        'digits',
        "Flax's mnist example CNN trained on scikit-learn's digits (scripts/train_digits.py): the "
        'logits of examples/digits/digits.msgpack on the 360 images of examples/digits/test-set.json '
        '(same order), their argmax and the test accuracy.',
        scenarios, bits=True,
        versions={'optax': optax.__version__, 'scikit-learn': sklearn.__version__})
  doc = json.load(open(GOLDEN))
  n = sum(int(np.prod(p.shape)) for p in jax.tree_util.tree_leaves(params))
  print(f'test accuracy {doc["expect"]["accuracy"]:.4f} ({doc["expect"]["correct"]}/{TEST_SIZE}); '
        f'{n} params; checkpoint {os.path.getsize(CHECKPOINT)} bytes; total {time.time() - t0:.1f} s',
        file=sys.stderr)


if __name__ == '__main__':
  main()

"""Reads the files flaxen wrote (__test__/golden/weights/flaxen_written.*, made by
scripts/golden/flaxen_written.ts) with Flax's msgpack_restore and safetensors.numpy.load_file,
and records what Python read as a hash (same definition as __test__/helpers/flaxen-written.ts:
leaves in path order, `path|dtype|shape\\n` + raw bytes for arrays, `path|json\\n` otherwise).

    python scripts/golden/python_readback.py > __test__/golden/weights/python_readback.json
"""
import hashlib
import json
import os
import sys

import numpy as np
from flax import serialization, traverse_util
import safetensors.numpy

DIR = os.path.join(os.path.dirname(__file__), '..', '..', '__test__', 'golden', 'weights')


def values_hash(leaves):
  h = hashlib.sha256()
  for path, v in sorted(leaves, key=lambda kv: kv[0].encode('utf-16-be')):
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
      h.update(f'{path}|{json.dumps(v)}\n'.encode())
    else:
      a = np.asarray(v)
      h.update(f'{path}|{a.dtype.name}|{",".join(map(str, a.shape))}\n'.encode())
      h.update(np.ascontiguousarray(a).tobytes())
  return h.hexdigest()


def main():
  out = {}
  raw = open(os.path.join(DIR, 'flaxen_written.msgpack'), 'rb').read()
  tree = serialization.msgpack_restore(raw)
  flat = traverse_util.flatten_dict(tree, sep='/')
  # a list leaf (msgpack array) flattens as one value: its items by index
  leaves = []
  for k, v in flat.items():
    if isinstance(v, list):
      leaves += [(f'{k}/{i}', x) for i, x in enumerate(v)]
    else:
      leaves.append((k, v))
  out['msgpack'] = {'sha256': hashlib.sha256(raw).hexdigest(), 'values': values_hash(leaves)}
  path = os.path.join(DIR, 'flaxen_written.safetensors')
  st = safetensors.numpy.load_file(path)
  out['safetensors'] = {'sha256': hashlib.sha256(open(path, 'rb').read()).hexdigest(), 'values': values_hash(list(st.items()))}
  json.dump(out, sys.stdout, indent=2)


if __name__ == '__main__':
  main()

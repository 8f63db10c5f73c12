"""What every golden generator shares: encoding results as JSON ({shape, dtype, data}; NaN as
null, since JSON has none) and writing the document with the Python that produced it, so a test
file can show where each number came from. The tests never run Python: they read the JSON."""
import inspect
import json
import sys

import flax
import jax
import numpy as np


def enc(x):
  if isinstance(x, dict):
    return {k: enc(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [enc(v) for v in x]
  if isinstance(x, (str, bool)) or x is None:
    return x
  a = np.asarray(x)
  data = a.reshape(-1).tolist()
  if a.dtype.kind == 'f':
    data = [None if np.isnan(v) else float(np.float32(v)) for v in data]
  return {'shape': list(a.shape), 'dtype': str(a.dtype), 'data': data}


def enc_bits(x):
  """As `enc`, but float32 arrays as their uint32 bit patterns (`bits`): exact, NaN and -0 kept."""
  if isinstance(x, dict) or hasattr(x, 'items'):
    return {k: enc_bits(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [enc_bits(v) for v in x]
  if isinstance(x, (str, bool, int, float)) or x is None:
    return x
  a = np.asarray(x)
  if a.dtype == np.float32:
    return {'shape': list(a.shape), 'dtype': 'float32', 'bits': a.reshape(-1).view(np.uint32).tolist()}
  return {'shape': list(a.shape), 'dtype': str(a.dtype), 'data': a.reshape(-1).tolist()}


def write(name, about, scenarios, bits=False, versions=None, key=None):
  """Runs `scenarios()` and prints the golden document to stdout: float32 as bit patterns with
  `bits` (compact JSON), extra library `versions`, the results under `expect[key]` if given."""
  expect = (enc_bits if bits else enc)(scenarios())
  doc = {
      'name': name,
      'about': about,
      'versions': {'jax': jax.__version__, 'flax': flax.__version__, **(versions or {})},
      'flax': inspect.getsource(scenarios),
      'expect': {key: expect} if key else expect,
  }
  if bits:
    json.dump(doc, sys.stdout, indent=None, separators=(',', ':'))
  else:
    json.dump(doc, sys.stdout, indent=1)
  sys.stdout.write('\n')

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


def write(name, about, scenarios):
  """Runs `scenarios()` and prints the golden document to stdout."""
  doc = {
      'name': name,
      'about': about,
      'versions': {'jax': jax.__version__, 'flax': flax.__version__},
      'flax': inspect.getsource(scenarios),
      'expect': enc(scenarios()),
  }
  json.dump(doc, sys.stdout, indent=1)
  sys.stdout.write('\n')

"""A small PyTorch model, its state dict and its output, for the PyTorch -> Flax converter test
(__test__/serialization-pytorch.spec.ts): the flaxen port of the same model, loaded with
serialization.convertPytorchStateDict, must give the same output. Run with torch (CPU):

    python scripts/golden/pytorch_port.py > __test__/golden/pytorch_port.json

float32 arrays are written as their uint32 bit patterns (`bits`); tests never run Python.
"""
import json
import sys

import numpy as np
import torch


class Net(torch.nn.Module):
  def __init__(self):
    super().__init__()
    self.embed = torch.nn.Embedding(11, 8)
    self.norm = torch.nn.LayerNorm(8)
    self.layers = torch.nn.ModuleList([torch.nn.Linear(8, 16), torch.nn.Linear(16, 4)])

  def forward(self, ids):
    h = self.norm(self.embed(ids))
    h = torch.relu(self.layers[0](h))
    return self.layers[1](h)


class ConvNet(torch.nn.Module):
  """Layouts only (flaxen has no conv yet): Conv2d OIHW, Conv1d OIW, BatchNorm running stats."""
  def __init__(self):
    super().__init__()
    self.conv = torch.nn.Conv2d(3, 5, (2, 4))
    self.conv1d = torch.nn.Conv1d(2, 6, 3)
    self.bn = torch.nn.BatchNorm2d(5)


def arr(x):
  a = np.ascontiguousarray(x.detach().numpy())
  if a.dtype == np.float32:
    return {'shape': list(a.shape), 'dtype': 'float32', 'bits': a.view(np.uint32).ravel().tolist()}
  return {'shape': list(a.shape), 'dtype': str(a.dtype), 'data': a.ravel().tolist()}


def main():
  torch.manual_seed(0)
  net = Net()
  ids = torch.tensor([[0, 3, 10], [7, 7, 1]])
  with torch.no_grad():
    y = net(ids)
  conv = ConvNet()
  with torch.no_grad():
    conv.bn.running_mean.uniform_(-1, 1)
    conv.bn.running_var.uniform_(0.5, 2)
    conv.bn.num_batches_tracked.fill_(7)
  out = {
    'torch': torch.__version__,
    'net': {
      'state': {k: arr(v) for k, v in net.state_dict().items()},
      'ids': arr(ids.to(torch.int32)),
      'out': arr(y),
    },
    'conv': {
      'state': {k: arr(v.to(torch.int32) if v.dtype == torch.int64 else v) for k, v in conv.state_dict().items()},
      'conv_kernel_hwio': arr(conv.conv.weight.permute(2, 3, 1, 0)),
      'conv1d_kernel_wio': arr(conv.conv1d.weight.permute(2, 1, 0)),
    },
  }
  json.dump(out, sys.stdout)


if __name__ == '__main__':
  main()

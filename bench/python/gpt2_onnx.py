"""GPT-2-small for the onnxruntime-node peer of the GPT-2 benchmark.

Usage: python gpt2_onnx.py OUTDIR

Writes, once (skipped when OUTDIR/done.json exists):
  OUTDIR/flax/          FlaxGPT2LMHeadModel(GPT2Config(), seed=0).save_pretrained: flax_model.msgpack +
                        config.json (flaxen loads this folder with loadGpt2 from examples/gpt2.ts)
  OUTDIR/prefill.onnx   input_ids int64 [1,128] -> logits [1,128,vocab], present_key_i/present_value_i
                        [1,12,128,64] for every layer i
  OUTDIR/decode.onnx    input_ids int64 [1,1], position_ids int64 [1,1] (= past),
                        past_key_i/past_value_i [1,12,past,64] -> logits [1,1,vocab],
                        present_key_i/present_value_i [1,12,past+1,64]
  OUTDIR/done.json      versions, timings and the agreement checks

The PyTorch twin (GPT2LMHeadModel, eager attention) gets the Flax weights copied by hand
(from_pretrained(from_flax=True) leaves buffers on the meta device with transformers 4.57), and its
logits are checked against the Flax model's (max |diff| < 1e-4). The graphs come from the
TorchScript exporter (dynamo=False, opset 17); the `onnx` package is not needed (see below). When the python `onnxruntime` package is
importable, decode.onnx is also checked against torch at past=128; otherwise that check is left to
onnxruntime-node (see bench/src/gpt2-peer.ts: checkOrtGpt2 compares against OUTDIR/check.json).
"""
import json
import os
import sys
import time
import warnings

SEQ = 128  # prefill length
CHECK_PAST = 128  # past length of the decode check


def copy_flax_into_torch(params, tmodel) -> None:
    """Flax GPT-2 params into GPT2LMHeadModel (Conv1D kernels are stored transposed in Flax; the
    LM head is tied to wte in both)."""
    import numpy as np
    import torch

    p = params['transformer']
    sd = {}
    t = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))
    sd['transformer.wte.weight'] = t(p['wte']['embedding'])
    sd['transformer.wpe.weight'] = t(p['wpe']['embedding'])
    sd['transformer.ln_f.weight'] = t(p['ln_f']['scale'])
    sd['transformer.ln_f.bias'] = t(p['ln_f']['bias'])
    for i, blk in p['h'].items():
        pre = f'transformer.h.{i}.'
        for ln in ('ln_1', 'ln_2'):
            sd[pre + ln + '.weight'] = t(blk[ln]['scale'])
            sd[pre + ln + '.bias'] = t(blk[ln]['bias'])
        for mod, lin in (('attn', 'c_attn'), ('attn', 'c_proj'), ('mlp', 'c_fc'), ('mlp', 'c_proj')):
            sd[f'{pre}{mod}.{lin}.weight'] = t(np.asarray(blk[mod][lin]['kernel']).T)
            sd[f'{pre}{mod}.{lin}.bias'] = t(blk[mod][lin]['bias'])
    sd['lm_head.weight'] = sd['transformer.wte.weight']
    missing, unexpected = tmodel.load_state_dict(sd, strict=False)
    missing = [m for m in missing if not m.endswith('.attn.bias') and not m.endswith('.attn.masked_bias')]
    if missing or unexpected:
        raise SystemExit(f'weight copy: missing {missing}, unexpected {unexpected}')
    tmodel.tie_weights()


def main(out: str) -> None:
    marker = os.path.join(out, 'done.json')
    if os.path.exists(marker):
        print(f'{marker} exists; nothing to do', file=sys.stderr)
        return
    os.makedirs(out, exist_ok=True)
    t_start = time.time()

    import numpy as np
    import jax
    import flax
    import torch
    import transformers
    from transformers import FlaxGPT2LMHeadModel, GPT2Config, GPT2LMHeadModel
    from transformers.cache_utils import DynamicCache

    warnings.filterwarnings('ignore')
    torch.manual_seed(0)
    torch.set_grad_enabled(False)

    # 1. The Flax model, GPT-2-small defaults, random weights from key 0.
    config = GPT2Config()
    fmodel = FlaxGPT2LMHeadModel(config, seed=0)
    flax_dir = os.path.join(out, 'flax')
    fmodel.save_pretrained(flax_dir)

    # 2. The PyTorch twin with the same weights.
    # (from_pretrained(from_flax=True) leaves buffers on the meta device with this transformers,
    # so the tensors are copied by hand into a model built on the CPU.)
    tmodel = GPT2LMHeadModel(GPT2Config(attn_implementation='eager'))
    tmodel.config._attn_implementation = 'eager'
    copy_flax_into_torch(fmodel.params, tmodel)
    tmodel.eval()
    # GPT-2's eager attention applies the causal mask itself (the `bias` buffer sliced by the
    # query and key lengths), so with batch 1 and no padding create_causal_mask's additive mask is
    # all zeros: drop it. This keeps the graphs free of the mask builder (whose vmap the
    # TorchScript tracer cannot follow, and whose sizes it would bake in as constants). The Flax
    # comparison below runs with this in place.
    import transformers.models.gpt2.modeling_gpt2 as modeling_gpt2
    modeling_gpt2.create_causal_mask = lambda **kwargs: None
    cfg = tmodel.config
    L, H, D = cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head

    rng = np.random.default_rng(0)
    ids = rng.integers(0, cfg.vocab_size, size=(1, SEQ), dtype=np.int64)
    flax_logits = np.asarray(fmodel(ids.astype(np.int32)).logits)
    torch_logits = tmodel(torch.from_numpy(ids)).logits.numpy()
    flax_torch_diff = float(np.max(np.abs(flax_logits - torch_logits)))
    print(f'flax vs torch logits, max |diff| = {flax_torch_diff:.3g}', file=sys.stderr)
    if not flax_torch_diff < 1e-4:
        raise SystemExit(f'flax and torch logits differ by {flax_torch_diff}')

    def cache_from(flat):
        cache = DynamicCache()
        for i in range(L):
            cache.update(flat[2 * i], flat[2 * i + 1], i)
        return cache

    def flat_from(cache):
        out = []
        if hasattr(cache, 'layers'):
            for layer in cache.layers:
                out += [layer.keys, layer.values]
        else:
            for k, v in zip(cache.key_cache, cache.value_cache):
                out += [k, v]
        return out

    class Prefill(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            r = self.m(input_ids=input_ids, use_cache=True, past_key_values=DynamicCache())
            return (r.logits, *flat_from(r.past_key_values))

    class Decode(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, position_ids, *past):
            r = self.m(input_ids=input_ids, position_ids=position_ids,
                       past_key_values=cache_from(list(past)), use_cache=True)
            return (r.logits, *flat_from(r.past_key_values))

    present = [f'present_{kv}_{i}' for i in range(L) for kv in ('key', 'value')]
    past_names = [f'past_{kv}_{i}' for i in range(L) for kv in ('key', 'value')]

    try:
        import onnx  # noqa: F401
    except ImportError:
        # The TorchScript exporter imports onnx only to splice custom onnxscript functions into
        # the model; these graphs have none (standard ops only), so without onnx it is a no-op.
        from torch.onnx._internal.torchscript_exporter import onnx_proto_utils
        onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes

    def export(module, args, path, input_names, dynamic_axes):
        kw = dict(input_names=input_names, output_names=['logits', *present], opset_version=17,
                  do_constant_folding=True, dynamic_axes=dynamic_axes)
        try:
            torch.onnx.export(module, args, path, dynamo=False, **kw)
        except TypeError:  # a torch without the dynamo argument
            torch.onnx.export(module, args, path, **kw)

    # 3a. prefill.onnx (fixed shapes).
    t0 = time.time()
    prefill = Prefill(tmodel).eval()
    export(prefill, (torch.from_numpy(ids),), os.path.join(out, 'prefill.onnx'), ['input_ids'], None)
    t_prefill = time.time() - t0

    # 3b. decode.onnx (past length dynamic).
    t0 = time.time()
    decode = Decode(tmodel).eval()
    P = CHECK_PAST
    pkv = [torch.from_numpy(rng.standard_normal((1, H, P, D), dtype=np.float32) * 0.1) for _ in range(2 * L)]
    new_id = torch.from_numpy(rng.integers(0, cfg.vocab_size, size=(1, 1), dtype=np.int64))
    pos = torch.tensor([[P]], dtype=torch.int64)
    dyn = {n: {2: 'past'} for n in past_names}
    dyn.update({n: {2: 'total'} for n in present})
    export(decode, (new_id, pos, *[t.clone() for t in pkv]), os.path.join(out, 'decode.onnx'),
           ['input_ids', 'position_ids', *past_names], dyn)
    t_decode = time.time() - t0

    # 4. Reference outputs for the checks (torch at past=128, fresh cache).
    ref = decode(new_id, pos, *[t.clone() for t in pkv])
    ref_logits = ref[0].numpy()
    ref_present0 = ref[1].numpy()
    check = {
        'input_id': int(new_id.item()),
        'past_rule': 'past_key_i/past_value_i = 0.01 * ((j % 97) - 48) for element j of each tensor',
        'position_id': 'past',
        'prefill': {'input_ids': 'check_prefill_ids.i64', 'logits': 'check_prefill_logits.f32'},
    }
    # Deterministic pasts that JS can rebuild, for onnxruntime-node's check (at two past lengths,
    # so that a length baked into the graph by tracing would show).
    check['decode'] = []
    for Pc in (CHECK_PAST, 1023):
        det = torch.from_numpy((0.01 * ((np.arange(H * Pc * D) % 97) - 48)).astype(np.float32).reshape(1, H, Pc, D))
        r = decode(new_id, torch.tensor([[Pc]], dtype=torch.int64), *[det.clone() for _ in range(2 * L)])[0].numpy().reshape(-1)
        r.astype('<f4').tofile(os.path.join(out, f'check_decode_{Pc}.f32'))
        check['decode'].append({'past': Pc, 'logits': f'check_decode_{Pc}.f32', 'argmax': int(np.argmax(r))})
    prefill_ref = tmodel(torch.from_numpy(ids)).logits.numpy().reshape(-1)
    ids.astype('<i8').tofile(os.path.join(out, 'check_prefill_ids.i64'))
    prefill_ref.astype('<f4').tofile(os.path.join(out, 'check_prefill_logits.f32'))
    with open(os.path.join(out, 'check.json'), 'w') as f:
        json.dump(check, f, indent=1)

    ort_check = None
    try:
        import onnxruntime as ort_py
        s = ort_py.InferenceSession(os.path.join(out, 'decode.onnx'), providers=['CPUExecutionProvider'])
        feeds = {'input_ids': new_id.numpy(), 'position_ids': pos.numpy()}
        feeds.update({n: t.numpy() for n, t in zip(past_names, pkv)})
        feeds = {k: v for k, v in feeds.items() if k in {i.name for i in s.get_inputs()}}
        o = s.run(None, feeds)
        ort_check = {'decode_logits_max_abs_diff': float(np.max(np.abs(o[0] - ref_logits))),
                     'decode_present_key_0_max_abs_diff': float(np.max(np.abs(o[1] - ref_present0)))}
        print(f'onnxruntime (python) decode vs torch at past={P}: {ort_check}', file=sys.stderr)
        if not ort_check['decode_logits_max_abs_diff'] < 1e-4:
            raise SystemExit(f'onnxruntime decode logits differ from torch by {ort_check}')
    except ImportError:
        print('python onnxruntime not installed; the decode check is left to onnxruntime-node', file=sys.stderr)

    sizes = {n: os.path.getsize(os.path.join(out, n)) for n in ('prefill.onnx', 'decode.onnx', 'flax/flax_model.msgpack')}
    done = {
        'versions': {'python': sys.version.split()[0], 'jax': jax.__version__, 'flax': flax.__version__,
                     'transformers': transformers.__version__, 'torch': torch.__version__, 'numpy': np.__version__},
        'model': {'n_layer': L, 'n_head': H, 'head_dim': D, 'vocab_size': cfg.vocab_size, 'n_positions': cfg.n_positions},
        'prefill_len': SEQ,
        'flax_torch_logits_max_abs_diff': flax_torch_diff,
        'ort_python_check': ort_check,
        'seconds': {'total': round(time.time() - t_start, 1), 'export_prefill': round(t_prefill, 1), 'export_decode': round(t_decode, 1)},
        'bytes': sizes,
    }
    with open(marker + '.tmp', 'w') as f:
        json.dump(done, f, indent=1)
    os.replace(marker + '.tmp', marker)
    print(json.dumps(done), file=sys.stderr)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        raise SystemExit('usage: gpt2_onnx.py OUTDIR')
    main(sys.argv[1])

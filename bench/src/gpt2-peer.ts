// The onnxruntime-node peer of the GPT-2-small benchmark: the same weights as flaxen's model
// (FlaxGPT2LMHeadModel(GPT2Config(), seed=0), saved with save_pretrained), exported to ONNX from
// its PyTorch twin by bench/python/gpt2_onnx.py. The export needs jax, flax, transformers and torch
// in a Python, takes a minute or two and writes ~1.8 GB, so it is done once into a cache folder.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BENCH_DIR, sessionOptions, type Ort, type OrtSession, type OrtTensor } from './ort-peer'
import { measureAsync } from './timing'
import type { Stats, TimingOptions } from './types'

export type Gpt2Run = 'prefill-128' | 'decode-128' | 'decode-1024'
export type Gpt2Measure = Gpt2Run

/** GPT-2-small's shape, as exported. */
export const GPT2_SMALL = { layers: 12, heads: 12, headDim: 64, vocab: 50257, nPositions: 1024, prefill: 128 } as const

/** The cache folder: FLAXEN_BENCH_GPT2, else <tmpdir>/flaxen-bench-gpt2. Its `flax/` is loadGpt2's folder. */
export function gpt2Dir(): string {
  return process.env.FLAXEN_BENCH_GPT2 ?? join(tmpdir(), 'flaxen-bench-gpt2')
}

export const GPT2_SCRIPT = join(BENCH_DIR, 'python', 'gpt2_onnx.py')

/** Runs bench/python/gpt2_onnx.py with `python` unless gpt2Dir() already holds its done.json; returns the folder. */
export function ensureGpt2(python: string): string {
  const dir = gpt2Dir()
  if (existsSync(join(dir, 'done.json'))) return dir
  process.stderr.write(`flaxen bench: exporting GPT-2-small (Flax weights + ONNX graphs, ~1.8 GB) into ${dir} with ${python}; this takes a minute or two...\n`)
  const r = spawnSync(python, [GPT2_SCRIPT, dir], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 30 * 60_000 })
  if (r.error) throw new Error(`ensureGpt2: ${python} ${GPT2_SCRIPT}: ${r.error.message}`)
  if (r.status !== 0 || !existsSync(join(dir, 'done.json'))) throw new Error(`ensureGpt2: ${python} ${GPT2_SCRIPT} ${dir} failed (exit ${r.status ?? r.signal})`)
  return dir
}

const int64 = (ort: Ort, values: number[], dims: readonly number[]): OrtTensor => new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims)

/** A past key or value of `past` positions: 0.01 * ((j % 97) - 48) at element j (the rule of the export's check.json). */
function pastData(past: number): Float32Array {
  const { heads, headDim } = GPT2_SMALL
  const a = new Float32Array(heads * past * headDim)
  for (let j = 0; j < a.length; j++) a[j] = 0.01 * ((j % 97) - 48)
  return a
}

/** The feeds of one decode step after `past` tokens: token `inputId` at position `past`. */
function decodeFeeds(ort: Ort, past: number, inputId: number): Record<string, OrtTensor> {
  const { layers, heads, headDim } = GPT2_SMALL
  const data = pastData(past) // never written by ort: one buffer serves every layer
  const feeds: Record<string, OrtTensor> = { input_ids: int64(ort, [inputId], [1, 1]), position_ids: int64(ort, [past], [1, 1]) }
  for (let i = 0; i < layers; i++) {
    feeds[`past_key_${i}`] = new ort.Tensor('float32', data, [1, heads, past, headDim])
    feeds[`past_value_${i}`] = new ort.Tensor('float32', data, [1, heads, past, headDim])
  }
  return feeds
}

function prefillFeeds(ort: Ort, ids?: number[]): Record<string, OrtTensor> {
  const n = GPT2_SMALL.prefill
  return { input_ids: int64(ort, ids ?? Array.from({ length: n }, (_, j) => (j * 7919 + 11) % GPT2_SMALL.vocab), [1, n]) }
}

async function session(ort: Ort, dir: string, which: 'prefill' | 'decode', threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(join(dir, `${which}.onnx`), sessionOptions(threads))
}

/**
 * Times `session.run` of the exported GPT-2-small with `threads` intra-op threads, as measureOrt
 * does (sequential executor, all graph optimizations, feeds built once, session released after):
 * `prefill-128` is the forward of 128 tokens returning logits and the 12 layers' keys and values;
 * `decode-128` / `decode-1024` is one step of one token over a cache of 127 / 1023 positions
 * (so that the step attends to 128 / 1024), returning logits and the grown cache.
 */
export async function measureOrtGpt2(ort: Ort, dir: string, threads: number, timing: TimingOptions, which: Gpt2Run): Promise<Stats> {
  const prefill = which === 'prefill-128'
  const s = await session(ort, dir, prefill ? 'prefill' : 'decode', threads)
  try {
    const feeds = prefill ? prefillFeeds(ort) : decodeFeeds(ort, which === 'decode-128' ? 127 : 1023, 464)
    return await measureAsync(() => s.run(feeds), timing)
  } finally {
    await s.release()
  }
}

const readF32 = (path: string): Float32Array => {
  const b = readFileSync(path)
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

/**
 * Runs both graphs in onnxruntime-node on the inputs of the export's check.json and returns the
 * largest |difference| from PyTorch's logits: prefill, and decode at each past length checked.
 */
export async function checkOrtGpt2(ort: Ort, dir: string, threads = 1): Promise<Record<string, number>> {
  const check = JSON.parse(readFileSync(join(dir, 'check.json'), 'utf8'))
  const out: Record<string, number> = {}
  const p = await session(ort, dir, 'prefill', threads)
  try {
    const b = readFileSync(join(dir, check.prefill.input_ids))
    const ids = Array.from(new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), Number)
    const r = await p.run(prefillFeeds(ort, ids))
    out['prefill-128'] = maxAbsDiff(r.logits.data as Float32Array, readF32(join(dir, check.prefill.logits)))
  } finally {
    await p.release()
  }
  const d = await session(ort, dir, 'decode', threads)
  try {
    for (const c of check.decode as { past: number; logits: string }[]) {
      const r = await d.run(decodeFeeds(ort, c.past, check.input_id))
      const { heads, headDim } = GPT2_SMALL
      const dims = r.present_key_11.dims.join(',')
      if (dims !== `1,${heads},${c.past + 1},${headDim}`) throw new Error(`checkOrtGpt2: present_key_11 is [${dims}] at past ${c.past}`)
      out[`decode-past-${c.past}`] = maxAbsDiff(r.logits.data as Float32Array, readF32(join(dir, c.logits)))
    }
  } finally {
    await d.release()
  }
  return out
}

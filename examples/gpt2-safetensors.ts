// GPT-2 folders in safetensors form: `config.json` and `model.safetensors` holding the Flax
// parameter tree flattened with '.' (`transformer.h.0.attn.c_attn.kernel`, ...), which
// `loadGpt2(dir, { weights: 'safetensors' })` maps instead of reading (examples/gpt2.ts): the
// form a server loads at start, since cluster workers serving one file then share its pages.
//
//   npx tsx examples/gpt2-safetensors.ts OUT              GPT-2-small's config, random weights (seed 0)
//   npx tsx examples/gpt2-safetensors.ts OUT --from DIR   converts a folder loadGpt2 reads
//
// The tiny test fixture's model.safetensors (__test__/fixtures/gpt2-tiny/) was written by the
// second form from its flax_model.msgpack.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { jnp, random, safetensors } from '../ts/index'
import { GPT2LMHeadModel, GPT2_DEFAULTS, SAFETENSORS_FILE, loadGpt2, type GPT2Config, type LoadedGpt2 } from './gpt2'

/** A Hugging Face `config.json` (snake_case) for a GPT2Config: configFromJson's inverse. */
export function configToJson(c: GPT2Config): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: c.nInner,
    activation_function: c.activationFunction,
    layer_norm_epsilon: c.layerNormEpsilon,
    initializer_range: c.initializerRange,
    embd_pdrop: c.embdPdrop,
    attn_pdrop: c.attnPdrop,
    resid_pdrop: c.residPdrop,
    tie_word_embeddings: c.tieWordEmbeddings,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
  }
}

/** Writes `dir/config.json` and `dir/model.safetensors` (metadata `format: "flax"`) for a loaded model. */
export function saveGpt2Safetensors(dir: string, { config, variables }: Pick<LoadedGpt2, 'config' | 'variables'>): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(configToJson(config), null, 2)}\n`)
  safetensors.saveFile(variables.params as Record<string, unknown>, join(dir, SAFETENSORS_FILE), { format: 'flax' })
}

/**
 * A random-weight GPT-2 folder (Flax's init with `random.key(seed)`; every other field of the
 * config from `config`, default GPT-2 small: 124M parameters, a 498 MB file). Returns the config.
 */
export function writeGpt2Safetensors(dir: string, { config = {}, seed = 0 }: { config?: Partial<GPT2Config>; seed?: number } = {}): GPT2Config {
  const full: GPT2Config = { ...GPT2_DEFAULTS, ...config }
  const model = new GPT2LMHeadModel({ config: full })
  const variables = model.init(random.key(seed), jnp.zeros([1, 1], 'int32'))
  saveGpt2Safetensors(dir, { config: full, variables: { params: variables.params } })
  return full
}

function main(): void {
  const [out, flag, from] = process.argv.slice(2)
  if (out === undefined || (flag !== undefined && (flag !== '--from' || from === undefined))) {
    console.error('usage: npx tsx examples/gpt2-safetensors.ts OUT [--from DIR]')
    process.exitCode = 2
    return
  }
  if (from !== undefined) {
    saveGpt2Safetensors(out, loadGpt2(from, { weights: 'msgpack' }))
    console.log(`${from} → ${join(out, SAFETENSORS_FILE)}`)
  } else {
    const c = writeGpt2Safetensors(out)
    console.log(`GPT-2 (${c.nLayer} layers, n_embd ${c.nEmbd}, vocab ${c.vocabSize}), random weights → ${join(out, SAFETENSORS_FILE)}`)
  }
}

if (require.main === module) main()

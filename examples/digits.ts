// Train in Flax, serve in Node: a classifier of scikit-learn's 8×8 digits trained in real Flax
// (scripts/train_digits.py: Flax's mnist CNN, see examples/mnist-cnn.ts) and saved with
// `flax.serialization.to_bytes` as examples/digits/digits.msgpack. Here the same model is
// declared in TypeScript, its variables' template comes from `evalShape` (no kernel runs),
// the checkpoint fills it (shapes and dtypes checked against the template), and the held-out
// test split (examples/digits/test-set.json) is classified under `jit`: the logits equal
// Flax's within 1e-5 and the accuracy is Flax's.
//
// The same variables also ship as examples/digits/digits.safetensors (flattened with '.'), which
// examples/server.ts maps instead of reading: processes serving one file share its pages. It is
// written from the checkpoint by `npx tsx examples/digits.ts --write-safetensors`.
//
// Run `npx tsx examples/digits.ts`.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ShapeDtypeStruct, evalShape, jit, jnp, random, safetensors, serialization, traverseUtil, type Tensor } from '../ts/index'
import { CNN } from './mnist-cnn'

export const DIGITS_DIR = join(__dirname, 'digits')

export interface TestSet {
  images: Tensor
  labels: number[]
}

/** The held-out split as one NHWC batch [360, 8, 8, 1] with its labels. */
export function loadTestSet(): TestSet {
  const set = JSON.parse(readFileSync(join(DIGITS_DIR, 'test-set.json'), 'utf8')) as { images: number[][]; labels: number[]; shape: number[] }
  return { images: jnp.array(Float32Array.from(set.images.flat())).reshape([set.images.length, ...set.shape]), labels: set.labels }
}

export const DIGITS_MSGPACK = join(DIGITS_DIR, 'digits.msgpack')
export const DIGITS_SAFETENSORS = join(DIGITS_DIR, 'digits.safetensors')

/** The model and its trained variables: from the Flax checkpoint (read into memory), or from a
 * `.safetensors` file of the same tree flattened with '.' (mapped, no copy). Either way the
 * template from `evalShape` checks every shape and dtype. */
export function loadClassifier(path = DIGITS_MSGPACK) {
  const model = new CNN()
  const template = evalShape((x: Tensor) => model.init(random.key(0), x), new ShapeDtypeStruct([1, 8, 8, 1], 'float32'))
  const state = path.endsWith('.safetensors') ? traverseUtil.unflattenDict(safetensors.loadFile(path), { sep: '.' }) : serialization.msgpackRestoreFile(path)
  const variables = serialization.fromStateDict(template, state)
  return { model, variables }
}

function main(): void {
  const { model, variables } = loadClassifier()
  const { images, labels } = loadTestSet()
  const classify = jit((x: Tensor) => jnp.argmax(model.apply(variables, x) as Tensor, -1))
  const t0 = performance.now()
  const predicted = Array.from(classify(images).data)
  const ms = performance.now() - t0
  const correct = predicted.filter((p, i) => p === labels[i]).length
  console.log(`${correct}/${labels.length} correct (${((100 * correct) / labels.length).toFixed(2)}%), first call ${ms.toFixed(1)} ms (traces and plans)`)
  const t1 = performance.now()
  classify(images)
  console.log(`again: ${(performance.now() - t1).toFixed(2)} ms for ${labels.length} images`)
}

if (require.main === module) {
  if (process.argv[2] === '--write-safetensors') {
    safetensors.saveFile(loadClassifier().variables as Record<string, unknown>, DIGITS_SAFETENSORS, { format: 'flax' })
    console.log(`wrote ${DIGITS_SAFETENSORS}`)
  } else main()
}

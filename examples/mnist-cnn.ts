// Flax's mnist example model, ported from its Flax definition (google/flax, examples/mnist,
// `class CNN`): two 3×3 convolutions, each followed by relu and a 2×2 average pool, then two
// Dense layers. Param tree (Flax's auto-names):
//
//   Conv_0/{kernel [3, 3, C, 32], bias [32]}    Conv_1/{kernel [3, 3, 32, 64], bias [64]}
//   Dense_0/{kernel [H/4 * W/4 * 64, 256], bias}  Dense_1/{kernel [256, 10], bias}
//
// Inputs are NHWC (28×28×1 for mnist; the digits example feeds it 8×8×1 images).
//
// Run `npx tsx examples/mnist-cnn.ts`: inits the model from key 0 and classifies a random batch.
import { jnp, nn, random, type Tensor } from '../ts/index'

export class CNN extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    x = new nn.Conv({ features: 32, kernelSize: [3, 3] }).call(x)
    x = nn.relu(x)
    x = nn.avgPool(x, [2, 2], { strides: [2, 2] })
    x = new nn.Conv({ features: 64, kernelSize: [3, 3] }).call(x)
    x = nn.relu(x)
    x = nn.avgPool(x, [2, 2], { strides: [2, 2] })
    x = x.reshape([x.shape[0], -1]) // flatten
    x = new nn.Dense({ features: 256 }).call(x)
    x = nn.relu(x)
    x = new nn.Dense({ features: 10 }).call(x)
    return x
  }
}

function main(): void {
  const model = new CNN()
  const x = random.normal(random.key(1), [4, 28, 28, 1])
  const variables = model.init(random.key(0), x)
  const logits = model.apply(variables, x) as Tensor
  const classes = jnp.argmax(logits, -1)
  console.log(`logits ${JSON.stringify(logits.shape)}; classes ${Array.from(classes.data).join(' ')}`)
}

if (require.main === module) main()

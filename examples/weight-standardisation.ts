// Weight standardisation on the functional core (Flax's core_weight_std_test), line by line:
// `lift.map_variables(fn, 'params', std, init=True)` divides every dense kernel by its norm over
// the input axes before the layer sees it. A kernel initialised with stddev 1e5 still gives
// outputs below 1, and the standardised kernel is what init stores.
//
//   def weight_std(fn, kernel_name='kernel', eps=1e-8):
//     def std(variables):
//       params = variables['params']
//       kernel = params[kernel_name]
//       redux = tuple(range(kernel.ndim - 1))
//       norm = jnp.square(kernel).sum(redux, keepdims=True)
//       params[kernel_name] = kernel / jnp.sqrt(norm + eps)
//       return variables
//     return lift.map_variables(fn, 'params', std, init=True)
//
//   def mlp(scope, x, sizes=(8, 1)):
//     std_dense = weight_std(partial(nn.dense, kernel_init=nn.initializers.normal(stddev=1e5)))
//     for size in sizes[:-1]:
//       x = scope.child(std_dense, prefix='hidden_')(x, size)
//     return scope.child(nn.dense, 'out')(x, sizes[-1])
//
//   x = random.normal(random.key(0), (1, 4))
//   y, variables = init(mlp)(random.key(1), x)
import { core, jnp, nn, random, tree, type Tensor, type Variables } from '../ts/index'

/** `flax.core.nn.dense`: kernel (created first), matmul, then bias. */
export function dense(scope: core.Scope, x: Tensor, features: number, kernelInit: nn.Initializer = nn.lecunNormal()): Tensor {
  const kernel: Tensor = scope.param('kernel', kernelInit, [x.shape[x.shape.length - 1], features])
  const y = jnp.matmul(x, kernel)
  const bias: Tensor = scope.param('bias', nn.zerosInit(), [features])
  return jnp.add(y, bias)
}

/** Standardises `kernelName` over all axes but the last before `fn` sees it. */
export function weightStd<A extends unknown[]>(fn: (scope: core.Scope, ...args: A) => Tensor, kernelName = 'kernel', eps = 1e-8) {
  const std = (variables: Variables): Variables => {
    const params = variables.params
    const kernel: Tensor = params[kernelName]
    const redux = [...Array(kernel.ndim - 1).keys()]
    const norm = jnp.sum(jnp.square(kernel), redux, { keepdims: true })
    params[kernelName] = jnp.divide(kernel, jnp.sqrt(jnp.add(norm, eps)))
    return variables
  }
  return core.lift.mapVariables(fn, 'params', std, undefined, { init: true })
}

export function mlp(scope: core.Scope, x: Tensor, sizes: readonly number[] = [8, 1]): Tensor {
  const stdDense = weightStd((s: core.Scope, h: Tensor, features: number) => dense(s, h, features, nn.initializers.normal(1e5)))
  for (const size of sizes.slice(0, -1)) x = scope.child(stdDense, null, 'hidden_')(x, size)
  return scope.child(dense, 'out')(x, sizes[sizes.length - 1])
}

export function run() {
  const x = random.normal(random.key(0), [1, 4])
  const [y, variables] = core.init(mlp)(random.key(1), x)
  const applied: Tensor = core.apply(mlp)(variables, x)
  return { x, y, variables, applied }
}

if (require.main === module) {
  const { y, variables, applied } = run()
  console.log('variables:', JSON.stringify(tree.map((t: Tensor) => [...t.shape], variables)))
  const k: Tensor = variables.params.hidden_0.kernel
  const colNorms = jnp.sqrt(jnp.sum(jnp.square(k), 0)).toArray() as number[]
  console.log('hidden_0 kernel column norms (standardised, stored by init):', colNorms.map((v) => v.toFixed(6)).join(' '))
  console.log('y =', (y.toArray() as number[][])[0][0], '(< 1 although the kernel init has stddev 1e5)')
  console.log('apply(variables, x) == y:', applied.data[0] === y.data[0])
}

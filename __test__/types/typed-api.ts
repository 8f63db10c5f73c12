// Type tests (issue 10): compiled by `tsc -p tsconfig.check.json` in `npm test`, never run.
// Each `// @ts-expect-error` line must be a type error (tsc fails on an unused one); the other
// lines check what the typed API infers, via `expectType`.
import { ShapeDtypeStruct, evalShape, jnp, nn, random, serialization, tree, type Tensor } from '../../ts/index'

/** `expectType(value).is<U>()` compiles only when `value`'s type is exactly `U` (not merely assignable). */
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false
function expectType<T>(_value: T) {
  return { is: <U>(..._exact: Equal<T, U> extends true ? [] : [never]): void => undefined }
}
declare const x: Tensor

class MLP extends nn.Module<{ features: number[]; dropout?: number }> {
  features!: number[]
  dropout = 0.1

  @nn.compact
  call(x: Tensor): Tensor {
    for (const f of this.features) x = nn.relu(new nn.Dense({ features: f }).call(x))
    return x
  }

  encode(x: Tensor, scale: number): Tensor {
    return jnp.multiply(x, scale)
  }
}

class Empty extends nn.Module {
  call(): number {
    return 1
  }
}

// -- 1. Typed props -------------------------------------------------------------------------

new MLP({ features: [4] })
new MLP({ features: [4], dropout: 0.5, name: 'mlp', parent: null })
// @ts-expect-error misspelt prop (Flax: unexpected keyword argument 'hiden')
new MLP({ hiden: 4 })
// @ts-expect-error a required field missing
new MLP({ dropout: 0.2 })
// @ts-expect-error no props at all, but features is required
new MLP()
// @ts-expect-error wrong field type
new MLP({ features: 3 })
// @ts-expect-error wrong type of a defaulted field
new MLP({ features: [3], dropout: 'high' })
// @ts-expect-error name must be a string or null
new MLP({ features: [3], name: 3 })
// @ts-expect-error parent must be a Module or Scope
new MLP({ features: [3], parent: 'root' })
new Empty()
// @ts-expect-error a module without fields takes no field props
new Empty({ x: 1 })
new nn.Dense({ features: 3, useBias: false, kernelInit: nn.initializers.zeros })
// @ts-expect-error features of Dense is a number
new nn.Dense({ features: '3' })
// @ts-expect-error misspelt prop of a built-in layer
new nn.Dense({ featurs: 3 })
// @ts-expect-error useBias is a boolean
new nn.Dense({ features: 3, useBias: 1 })
// @ts-expect-error Embed needs numEmbeddings
new nn.Embed({ features: 3 })
// @ts-expect-error Dropout needs a rate
new nn.Dropout({ deterministic: true })
// @ts-expect-error misspelt Dropout prop
new nn.Dropout({ rate: 0.1, determinstic: true })
// @ts-expect-error LayerNorm's epsilon is a number
new nn.LayerNorm({ epsilon: '1e-6' })
// @ts-expect-error WeightNorm wraps a module
new nn.WeightNorm({ layerInstance: 3 })
// @ts-expect-error clone takes the module's props only
new MLP({ features: [2] }).clone({ featurs: [2] })
expectType(new MLP({ features: [2] }).clone({ features: [3] })).is<MLP>()
expectType(new MLP({ features: [2] }).dropout).is<number>()
expectType(new nn.Dense({ features: 2 }).features).is<number>()

// -- 2. Typed init / apply ------------------------------------------------------------------

const mlp = new MLP({ features: [4, 2] })
const v = mlp.init(random.key(0), x)
expectType(v).is<nn.Variables>()
expectType(mlp.apply(v, x)).is<Tensor>()
// @ts-expect-error a nested array is not a Tensor
mlp.apply(v, [[1, 2]])
// @ts-expect-error a typed array is not a Tensor
mlp.apply(v, new Float32Array([1, 2]))
// @ts-expect-error the input is required
mlp.apply(v)
// @ts-expect-error a collection is not a variable dict (Flax: pass variables, not variables['params'])
mlp.apply(v.params, x)
// @ts-expect-error a tensor is not a variable dict
mlp.apply(x, x)
// @ts-expect-error apply's result is a Tensor: no such method
mlp.apply(v, x).notAMethod()
// @ts-expect-error Flax keyword options go to applyWith, not apply
mlp.apply(v, x, { mutable: ['intermediates'] })
// @ts-expect-error rngs too
mlp.apply(v, x, { rngs: { dropout: random.key(1) } })
// @ts-expect-error init takes the same arguments as call
mlp.init(random.key(0), [[1, 2]])
expectType(mlp.initWithOutput(random.key(0), x)).is<[Tensor, nn.Variables]>()
// mutable gives [output, updated collections]
const [y, state] = mlp.applyWith(v, { mutable: ['intermediates'] }, x)
expectType(y).is<Tensor>()
expectType(state).is<nn.Variables>()
expectType(mlp.applyWith(v, { captureIntermediates: true }, x)).is<[Tensor, nn.Variables]>()
// nothing mutable: the output alone
expectType(mlp.applyWith(v, { mutable: false }, x)).is<Tensor>()
expectType(mlp.applyWith(v, { rngs: { dropout: random.key(1) } }, x)).is<Tensor>()
expectType(mlp.applyWith(v, {}, x)).is<Tensor>()
// @ts-expect-error nothing mutable: not a tuple
const notATuple: [Tensor, nn.Variables] = mlp.applyWith(v, {}, x)
// @ts-expect-error with mutable the result is a tuple, not a Tensor
mlp.applyWith(v, { mutable: true }, x).shape
// method: the named method's arguments and result
expectType(mlp.applyWith(v, { method: 'encode' }, x, 2)).is<Tensor>()
// @ts-expect-error encode's second argument is a number
mlp.applyWith(v, { method: 'encode' }, x, 'two')
// @ts-expect-error no such method
mlp.applyWith(v, { method: 'decode' }, x)
// a function of the module: its arguments after the module, its result
expectType(mlp.applyWith(v, { method: (m: MLP, s: string) => s.length }, 'abc')).is<number>()
expectType(mlp.initWith(random.key(0), { method: 'encode' }, x, 2)).is<nn.Variables>()
// @ts-expect-error initWith checks the method's arguments too
mlp.initWith(random.key(0), { method: 'encode' }, x)
// Variables: leaves are tensors, paths read without narrowing
expectType(v.params.Dense_0.kernel.shape).is<readonly number[]>()
// @ts-expect-error a leaf is a Tensor, not a string
const leafAsString: string = v.params.Dense_0.kernel
// built-in layers and combinators are typed from their call
const seq = new nn.Sequential({ layers: [new nn.Dense({ features: 2 }), nn.relu] })
expectType(seq.apply(v, x)).is<Tensor>()
// @ts-expect-error Sequential takes its first layer's arguments
seq.apply(v, 'x')
const wn = new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 2 }) })
expectType(wn.apply(v, x)).is<Tensor>()
// @ts-expect-error WeightNorm takes its layer's arguments
wn.apply(v, x, x)
const sn = new nn.SpectralNorm({ layerInstance: new nn.Dense({ features: 2 }) })
expectType(sn.apply(v, x, { updateStats: false })).is<Tensor>()
// @ts-expect-error SpectralNorm needs { updateStats } last
sn.apply(v, x)
const drop = new nn.Dropout({ rate: 0.5 })
expectType(drop.apply(v, x, { deterministic: true })).is<Tensor>()
// @ts-expect-error deterministic is a boolean
drop.apply(v, x, { deterministic: 'yes' })

// -- tree.map follows fn; item()/toArray() follow the dtype ---------------------------------

const kernelShape: readonly number[] = tree.map((t: Tensor) => t.shape, v).params.Dense_0.kernel
// @ts-expect-error the leaves of the mapped dict are shapes, not tensors
const kernelAsTensor: Tensor = tree.map((t: Tensor) => t.shape, v).params.Dense_0.kernel
const shapes = tree.map((t: Tensor) => [...t.shape], [x, x])
expectType(shapes).is<number[][]>()
// @ts-expect-error the leaves became shapes, not tensors
const notTensors: Tensor[] = tree.map((t: Tensor) => [...t.shape], [x, x])
expectType(tree.map((t: Tensor) => t.dtype, { a: x, b: [x] })).is<{ a: Tensor['dtype']; b: Tensor['dtype'][] }>()
expectType(x.astype('bool').item()).is<boolean>()
expectType(x.astype('int32').item()).is<number>()
expectType(x.item()).is<number | boolean>()
// @ts-expect-error a bool tensor's item is a boolean
const n: number = x.astype('bool').item()
expectType(x.astype('float32').toArray()).is<number | import('../../ts/tensor').NestedArrayOf<'float32'>[]>()

// evalShape: a template of ShapeDtypeStructs with the variables' paths; fromStateDict of it gives tensors
const template = evalShape((inp: Tensor) => new MLP({ features: [2] }).init(random.key(0), inp), new ShapeDtypeStruct([1, 3], 'float32'))
const kernelMeta: ShapeDtypeStruct = template.params.Dense_0.kernel
// @ts-expect-error a template leaf has no values
template.params.Dense_0.kernel.toArray()
const restored = serialization.fromStateDict(template, serialization.toStateDict(v))
const restoredKernel: Tensor = restored.params.Dense_0.kernel
expectType(evalShape((a: Tensor) => jnp.sum(a), x)).is<ShapeDtypeStruct>()
// @ts-expect-error evalShape's arguments follow fn's: a number is not a tensor
evalShape((a: Tensor) => jnp.sum(a), 3)

// Keys returned by makeRng in modules at various paths, against real Flax (root key(0), dropout key(1)).
import test from 'ava'
import { nn, random } from '../ts/index'
import { loadGolden } from './helpers/golden'
import { keyWords } from './helpers/variables'

class Leaf extends nn.Module {
  @nn.compact
  call() {
    return [keyWords(this.makeRng('params')), keyWords(this.makeRng('params')), keyWords(this.makeRng('dropout'))]
  }
}

class Mid extends nn.Module {
  @nn.compact
  call() {
    return [new Leaf().call(), new Leaf({ name: 'named' }).call()]
  }
}

class Top extends nn.Module {
  @nn.compact
  call() {
    return { root: keyWords(this.makeRng('params')), Mid_0: new Mid().call(), Leaf_0: new Leaf().call() }
  }
}

test('rng_paths: keys at (), Mid_0/Leaf_0, Mid_0/named, Leaf_0 with per-path counters', (t) => {
  const golden = loadGolden('rng_paths').expect
  const [y] = new Top().initWithOutput({ params: random.key(0), dropout: random.key(1) })
  const data = (x: any): any => (Array.isArray(x) ? x.map(data) : x.data)
  t.deepEqual(y.root, golden.root.data)
  t.deepEqual(y.Mid_0, data(golden.Mid_0))
  t.deepEqual(y.Leaf_0, data(golden.Leaf_0))
})

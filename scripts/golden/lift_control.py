"""Golden values for flax.core.lift.cond / switch / while_loop (core_lift_test's scenarios,
plus the parameters each branch initialises), from real Flax/JAX (jax 0.10.2, flax 0.12.8):

    python scripts/golden/lift_control.py > __test__/golden/lift_control.json
"""

import flax
import jax
import jax.numpy as jnp
import numpy as np
from flax.core import apply, init, lift, nn
from jax import random

from golden_doc import write




def scenarios():
  out = {}
  x = jnp.ones((1, 3))

  # test_cond: both branches use dense_0; both are traced (true first), so at init the false
  # branch's params would come from counter 2.
  def f(scope, x, pred):
    scope.variable('state', 'true_count', lambda: 0)
    scope.variable('state', 'false_count', lambda: 0)
    def true_fn(scope, x):
      scope.variable('state', 'true_count').value += 1
      return scope.child(nn.dense)(x, 2)
    def false_fn(scope, x):
      scope.variable('state', 'false_count').value += 1
      return -scope.child(nn.dense)(x, 2)
    return lift.cond(pred, true_fn, false_fn, scope, x)

  y1, v = init(f)(random.key(0), x, True)
  y2, s = apply(f, mutable='state')(v, x, False)
  out['cond_init_true'] = {'y': y1, 'vars': v}
  out['cond_apply_false'] = {'y': y2, 'state': s}
  y3, v3 = init(f)(random.key(0), x, False)
  out['cond_init_false'] = {'y': y3, 'vars': v3}

  # test_switch, and init through the last branch.
  def g(scope, x, index):
    for n in 'abc':
      scope.variable('state', f'{n}_count', lambda: 0)
    def mk(n, sign):
      def b(scope, x):
        scope.variable('state', f'{n}_count').value += 1
        return sign * scope.child(nn.dense)(x, 2)
      return b
    return lift.switch(index, [mk('a', 1), mk('b', -1), mk('c', 1)], scope, x)

  y1, v = init(g)(random.key(0), x, 0)
  out['switch_init_0'] = {'y': y1, 'vars': v}
  y2, s = apply(g, mutable='state')(v, x, 1)
  out['switch_apply_1'] = {'y': y2, 'state': s}
  y4, v4 = init(g)(random.key(0), x, 2)
  out['switch_init_2'] = {'y': y4, 'vars': v4}

  # test_while_loop: 'params' not split (same key every iteration), 'loop' split.
  def w(scope, x):
    scope.param('inc', lambda _: 1)
    scope.put_variable('state', 'acc', 0)
    scope.put_variable('state', 'rng_params', jnp.zeros((2, 2), jnp.uint32))
    scope.put_variable('state', 'rng_loop', jnp.zeros((2, 2), jnp.uint32))
    def cond_fn(scope, c):
      return scope.get_variable('state', 'acc') < x
    def body_fn(scope, c):
      i = scope.get_variable('state', 'acc')
      p_rng = scope.make_rng('params')
      l_rng = scope.make_rng('loop')
      scope.put_variable('state', 'rng_params', scope.get_variable('state', 'rng_params').at[i].set(p_rng))
      scope.put_variable('state', 'rng_loop', scope.get_variable('state', 'rng_loop').at[i].set(l_rng))
      scope.put_variable('state', 'acc', i + scope.get_variable('params', 'inc'))
      return c + 2
    c = lift.while_loop(cond_fn, body_fn, scope, 0, carry_variables='state',
                        split_rngs={'params': False, 'loop': True})
    # after the loop the counters stand where one trace of the body left them
    return c, scope.make_rng('params'), scope.make_rng('loop')

  (c, after_p, after_l), vs = apply(w, mutable=True)(
      {}, 2, rngs={'params': random.PRNGKey(0), 'loop': random.PRNGKey(1)})
  out['while_loop'] = {'c': c, 'state': vs['state'], 'after_params': after_p, 'after_loop': after_l}
  (c, after_p, after_l), vs = apply(w, mutable=True)(
      {}, 0, rngs={'params': random.PRNGKey(0), 'loop': random.PRNGKey(1)})
  out['while_loop_zero_iterations'] = {'c': c, 'state': vs['state'], 'after_params': after_p, 'after_loop': after_l}
  return out


if __name__ == '__main__':
  write('lift_control', 'flax.core.lift.cond / switch / while_loop (scripts/golden/lift_control.py).', scenarios)

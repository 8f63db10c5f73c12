// The 30-second soak of examples/server.ts (examples/soak.ts; `npm run soak` runs 10 minutes):
// good requests mixed with fuzzed bad ones from 16 clients. Every good request answered, every
// bad one refused with a 4xx JSON error, no 5xx or dropped connection, RSS growth under 10%
// after warm-up.
import test from 'ava'
import { soak } from '../examples/soak'

test('soak, 30 seconds: good requests answered, bad ones refused, RSS growth under 10%', async (t) => {
  t.timeout(120_000)
  const r = await soak({ seconds: 30, clients: 16 })
  t.deepEqual(r.failures.slice(0, 10), [], `${r.failures.length} failures`)
  t.true(r.good > 1000 && r.bad > 200, `${r.good} good and ${r.bad} bad requests`)
  t.true(r.growth < 0.1, `RSS ${JSON.stringify(r.rssMb)}: growth ${(100 * r.growth).toFixed(1)}%`)
  t.log(`${r.good} good, ${r.bad} bad requests; RSS ${JSON.stringify(r.rssMb)} MB, growth ${(100 * r.growth).toFixed(1)}%`)
})

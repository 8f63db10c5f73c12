// The raw addon, for suites that time the Node-API floor itself (tiny-op). flaxen does not export
// it, so it is loaded through flaxen's own loader by path (a path, unlike `flaxen/index.js`, is not
// subject to the package's "exports"); Node's module cache makes it the instance flaxen uses.
import { dirname, join } from 'node:path'
import type * as Binding from 'flaxen/index'

export const native: typeof Binding = require(join(dirname(require.resolve('flaxen/package.json')), 'index.js'))

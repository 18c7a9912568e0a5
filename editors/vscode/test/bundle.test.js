// The bundle VS Code loads (dist/extension.js, made by `npm run bundle`)
// stands alone: it loads with only the `vscode` module provided (a stub
// here: VS Code provides the real one), and exports activate and
// deactivate. Run by `npm test`, after the bundle is made.
const assert = require('assert');
const Module = require('module');
const path = require('path');

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'vscode') return 'vscode';
  return resolve.call(this, request, ...rest);
};
// Every name of the stub is a class: the language client extends several
// of VS Code's when it loads.
const stub = new Proxy({}, { get: () => class {} });
require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: stub };

// Nothing from node_modules may be needed at run time: hide it.
const bundle = path.join(__dirname, '..', 'dist', 'extension.js');
const originalPaths = Module._nodeModulePaths;
Module._nodeModulePaths = () => [];
const extension = require(bundle);
Module._nodeModulePaths = originalPaths;

assert.strictEqual(typeof extension.activate, 'function', 'activate');
assert.strictEqual(typeof extension.deactivate, 'function', 'deactivate');
console.log('bundle: dist/extension.js loads on its own and exports activate/deactivate');

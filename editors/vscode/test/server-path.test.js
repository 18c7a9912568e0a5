// The server path as the extension resolves it (server-path.js), under
// plain node: run by `npm test`.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { resolveServer } = require('../server-path');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfbox-vscode-'));
const server = path.join(dir, 'bpfbox-lsp');
fs.writeFileSync(server, '#!/bin/sh\n');
fs.chmodSync(server, 0o755);
const notExecutable = path.join(dir, 'plain');
fs.writeFileSync(notExecutable, '');

// A bare name is looked up on PATH.
assert.deepStrictEqual(resolveServer('bpfbox-lsp', undefined, `/nonexistent:${dir}`), { command: server });
assert.match(resolveServer('bpfbox-lsp', undefined, '/nonexistent').error, /bpfbox-lsp, which is not on PATH\. Build it with `cargo build --release -p bpfbox-lsp`/);
// ${workspaceFolder} and relative paths are the workspace's.
assert.deepStrictEqual(resolveServer('${workspaceFolder}/bpfbox-lsp', dir), { command: server });
assert.deepStrictEqual(resolveServer('./bpfbox-lsp', dir), { command: server });
assert.match(resolveServer('${workspaceFolder}/bpfbox-lsp', undefined).error, /no folder is open/);
// ~ is the home directory.
const home = os.homedir();
assert.match(resolveServer('~/no-such-bpfbox-lsp', dir).error, new RegExp(`${home}/no-such-bpfbox-lsp does not exist`));
// What cannot run is said, with the fix.
assert.match(resolveServer(notExecutable, dir).error, /is not an executable file\. Build it/);
assert.match(resolveServer('', dir).error, /bpfbox.server.path is empty/);

fs.rmSync(dir, { recursive: true });
console.log('server path: ok');

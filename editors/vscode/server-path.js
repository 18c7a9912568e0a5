// Where bpfbox.server.path points, as a command to run, or why it cannot
// be run: what the extension says once, with the fix, instead of the
// language client's generic start errors. No vscode API here, so that
// test/server-path.test.js runs it under plain node.
const fs = require('fs');
const os = require('os');
const path = require('path');

const BUILD_HINT =
  'Build it with `cargo build --release -p bpfbox-lsp` and set bpfbox.server.path to target/release/bpfbox-lsp (or install it on PATH).';

// `~`, `${userHome}` and `${workspaceFolder}` expanded; workspaceFolder is
// the first folder's path, or undefined outside a folder.
function expand(setting, workspaceFolder) {
  let value = setting.trim();
  if (value === '~' || value.startsWith('~/')) value = os.homedir() + value.slice(1);
  value = value.split('${userHome}').join(os.homedir());
  if (value.includes('${workspaceFolder}')) {
    if (!workspaceFolder) return { error: `bpfbox.server.path is ${setting}, but no folder is open for \${workspaceFolder}. ${BUILD_HINT}` };
    value = value.split('${workspaceFolder}').join(workspaceFolder);
  }
  return { value };
}

function executable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch (_) {
    return false;
  }
}

// { command } to run, or { error } to show.
function resolveServer(setting, workspaceFolder, envPath = process.env.PATH || '') {
  if (!setting || !setting.trim()) return { error: `bpfbox.server.path is empty. ${BUILD_HINT}` };
  const expanded = expand(setting, workspaceFolder);
  if (expanded.error) return expanded;
  const value = expanded.value;
  if (!value.includes('/')) {
    for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
      const candidate = path.join(dir, value);
      if (executable(candidate)) return { command: candidate };
    }
    return { error: `bpfbox.server.path is ${setting}, which is not on PATH. ${BUILD_HINT}` };
  }
  const file = path.isAbsolute(value) ? value : path.resolve(workspaceFolder || process.cwd(), value);
  if (!fs.existsSync(file)) return { error: `bpfbox.server.path is ${setting}: ${file} does not exist. ${BUILD_HINT}` };
  if (!executable(file)) return { error: `bpfbox.server.path is ${setting}: ${file} is not an executable file. ${BUILD_HINT}` };
  return { command: file };
}

module.exports = { expand, resolveServer };

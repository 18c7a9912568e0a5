// The bpfbox extension: starts bpfbox-lsp for *.policy files, says once and
// plainly when bpfbox.server.path cannot be run, restarts the server when
// that setting changes or on the "bpfbox: Restart the language server"
// command, and passes bpfbox.paths.* (where paths are checked) to it.
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');
const { resolveServer } = require('./server-path');

let client;

function workspaceFolder() {
  const folders = vscode.workspace.workspaceFolders;
  return folders && folders.length ? folders[0].uri.fsPath : undefined;
}

// The server's path: in an untrusted workspace only the user's own setting
// counts (package.json's restrictedConfigurations), as VS Code applies it.
function serverSetting() {
  return vscode.workspace.getConfiguration('bpfbox').get('server.path', 'bpfbox-lsp');
}

async function start() {
  const setting = serverSetting();
  const server = resolveServer(setting, workspaceFolder());
  if (server.error) {
    const choice = await vscode.window.showErrorMessage(server.error, 'Open Settings');
    if (choice === 'Open Settings') {
      vscode.commands.executeCommand('workbench.action.openSettings', 'bpfbox.server.path');
    }
    return;
  }
  // bpfbox.paths.*: where the paths a policy names are checked (bpfboxc's
  // --root and --no-path-check); sent at start and on every change.
  const paths = vscode.workspace.getConfiguration('bpfbox.paths');
  const serverOptions = {
    run: { command: server.command, transport: TransportKind.stdio },
    debug: { command: server.command, transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'bpfbox' }],
    initializationOptions: { paths: { check: paths.get('check', true), root: paths.get('root', '/') } },
    synchronize: {
      configurationSection: 'bpfbox',
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.policy'),
    },
  };
  client = new LanguageClient('bpfbox', 'bpfbox', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    vscode.window.showErrorMessage(
      `bpfbox: ${server.command} did not start as a language server (${error && error.message ? error.message : error}). Is bpfbox.server.path the bpfbox-lsp executable?`
    );
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch (_) {
      // already gone
    }
  }
}

async function restart() {
  await stop();
  await start();
}

function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('bpfbox.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('bpfbox.server.path')) restart();
    }),
    { dispose: () => stop() }
  );
  return start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };

// The bpfbox extension: starts bpfbox-lsp for *.policy files.
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('bpfbox').get('server.path', 'bpfbox-lsp');
  const serverOptions = {
    run: { command, transport: TransportKind.stdio },
    debug: { command, transport: TransportKind.stdio },
  };
  // bpfbox.paths.*: where the paths a policy names are checked (bpfboxc's
  // --root and --no-path-check); sent at start and on every change.
  const paths = vscode.workspace.getConfiguration('bpfbox.paths');
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'bpfbox' }],
    initializationOptions: { paths: { check: paths.get('check', true), root: paths.get('root', '/') } },
    synchronize: {
      configurationSection: 'bpfbox',
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.policy'),
    },
  };
  client = new LanguageClient('bpfbox', 'bpfbox', serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `bpfbox: cannot start ${command} (${error.message}). Set bpfbox.server.path to the bpfbox-lsp executable.`
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

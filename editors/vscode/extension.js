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
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'bpfbox' }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.policy') },
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

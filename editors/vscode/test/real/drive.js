// Drives a real VS Code (code-server, in headless Chromium through
// puppeteer-core) with the packaged bpfbox extension installed: opens a
// broken policy and checks what a user sees. Run by editors/vscode/test/real/run,
// which starts code-server; the arguments are its URL and the workspace.
//
//   node drive.js URL WORKSPACE CHECK
//   CHECK = diagnostics : the error squiggle under `raed`, the Problems
//           panel's E0104 with its did-you-mean, a hover on `read`
//   CHECK = bad-path    : one notification saying why bpfbox.server.path
//           cannot run, naming the setting and nothing else from bpfbox;
//           then the user corrects it in the Settings editor (to
//           GOOD_SERVER) and the extension starts the server: the squiggle
//           appears
const puppeteer = require('puppeteer-core');

const [url, workspace, check] = process.argv.slice(2);
const deadline = (ms) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms));

async function text(page, selector) {
  return page.$$eval(selector, (nodes) => nodes.map((n) => n.textContent).join('\n'));
}

async function waitForText(page, selector, needle, ms) {
  const start = Date.now();
  for (;;) {
    const found = await text(page, selector);
    if (found.includes(needle)) return found;
    if (Date.now() - start > ms) throw new Error(`no "${needle}" in ${selector} after ${ms} ms; it shows: ${found.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function openFile(page, name) {
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyP');
  await page.keyboard.up('Control');
  await page.waitForSelector('.quick-input-widget input', { visible: true });
  await page.keyboard.type(name);
  await waitForText(page, '.quick-input-list', name, 20000);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.monaco-editor .view-lines', { visible: true });
}

async function runCommand(page, title) {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { visible: true });
  await page.keyboard.type(title);
  await waitForText(page, '.quick-input-list', title, 20000);
  await page.keyboard.press('Enter');
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  let page;
  try {
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    // The explorer lists the workspace once VS Code is up.
    await waitForText(page, '.explorer-folders-view', 'broken.policy', 60000);
    await openFile(page, 'broken.policy');
    if (check === 'diagnostics') {
      // The server's diagnostics: a squiggle, then the Problems panel.
      await page.waitForSelector('.monaco-editor .squiggly-error', { timeout: 60000 });
      await page.keyboard.down('Control');
      await page.keyboard.down('Shift');
      await page.keyboard.press('KeyM');
      await page.keyboard.up('Shift');
      await page.keyboard.up('Control');
      const problems = await waitForText(page, '.markers-panel', 'E0104', 20000);
      if (!problems.includes('did you mean `read`')) throw new Error(`Problems panel: ${problems}`);
      console.log('vscode: E0104 at `raed` with its did-you-mean, in the editor and the Problems panel');
    } else if (check === 'bad-path') {
      await waitForText(page, '.notifications-toasts', 'bpfbox.server.path', 60000);
      // Anything else the extension or its client would say comes within
      // moments of the first message.
      await new Promise((r) => setTimeout(r, 3000));
      const toasts = await page.$$eval('.notifications-toasts .notification-list-item', (nodes) =>
        nodes.map((n) => n.textContent)
      );
      const ours = toasts.filter((t) => /bpfbox/i.test(t));
      if (ours.length !== 1) throw new Error(`${ours.length} bpfbox notifications: ${JSON.stringify(ours)}`);
      if (!ours[0].includes('does not exist') || !ours[0].includes('cargo build')) {
        throw new Error(`the message does not say what is wrong and how to fix it: ${ours[0]}`);
      }
      console.log(`vscode: a wrong server path is said once, with the fix: ${ours[0].slice(0, 160)}`);
      // The user corrects the setting in the Settings editor; the extension
      // follows the change and starts the server, without a reload.
      await runCommand(page, 'Preferences: Open User Settings');
      await page.waitForSelector('.settings-editor .suggest-input-container textarea, .settings-editor .search-container textarea', { visible: true, timeout: 20000 });
      await page.keyboard.type('bpfbox.server.path');
      // The search filters the list after a moment: wait for our setting,
      // and mark its input.
      await page.waitForFunction(
        () => {
          for (const item of document.querySelectorAll('.settings-editor .setting-item')) {
            const title = item.querySelector('.setting-item-title');
            const field = item.querySelector('.setting-item-control input');
            if (title && field && title.textContent.includes('Server: Path')) {
              field.setAttribute('data-bpfbox-test', 'server-path');
              return true;
            }
          }
          return false;
        },
        { timeout: 20000 }
      );
      const input = 'input[data-bpfbox-test="server-path"]';
      await page.focus(input);
      await page.keyboard.down('Control');
      await page.keyboard.press('KeyA');
      await page.keyboard.up('Control');
      await page.keyboard.type(process.env.GOOD_SERVER);
      await page.keyboard.press('Enter');
      const typed = await page.$eval(input, (i) => i.value);
      if (typed !== process.env.GOOD_SERVER) throw new Error(`the setting's input holds ${typed}`);
      // Back to the policy's tab.
      const tabs = await page.$$('.tabs-container .tab');
      for (const tab of tabs) {
        if ((await tab.evaluate((t) => t.textContent)).includes('broken.policy')) await tab.click();
      }
      await page.waitForSelector('.monaco-editor .squiggly-error', { timeout: 60000 });
      console.log('vscode: corrected in the Settings editor, the server starts without a reload');
    } else {
      throw new Error(`unknown check ${check}`);
    }
  } catch (error) {
    // What the page showed, for the log of a failed run.
    if (page && process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT }).catch(() => {});
    throw error;
  } finally {
    await browser.close();
  }
}

Promise.race([main(), deadline(180000)]).then(
  () => process.exit(0),
  (error) => {
    console.error(`vscode (${check}): ${error.message}`);
    process.exit(1);
  }
);

// The chat page at / in headless Chromium (Debian's `chromium`, driven by npm `playwright-core`):
// type a message, see the answer stream in, stop a long answer mid-stream.
//
//   node chat_page_test.mjs SILICA_SERVER MODEL [CHROMIUM]
// Exits 77 (skipped) when no Chromium is installed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { startServer } from "./server_process.mjs";
import { existsSync as haveFile } from "node:fs";
if (!haveFile(new URL("./node_modules/playwright-core/package.json", import.meta.url))) {
  console.log("node_modules/playwright-core is missing (npm ci could not reach the registry): skipped");
  process.exit(77);
}
const { chromium } = await import("playwright-core");

const [binary, model, browserPath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!existsSync(browserPath)) {
  console.log(`${browserPath} not found (apt-get install chromium): skipped`);
  process.exit(77);
}

const server = await startServer(binary, model, ["--alias", "page-model", "--parallel", "2"]);
const browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(server.base + "/");
  await page.waitForFunction(() => document.getElementById("model").textContent === "page-model");

  // A short answer streams in and completes.
  await page.fill("#max_tokens", "24");
  await page.fill("#input", "The jury said");
  await page.press("#input", "Enter");
  await page.waitForSelector(".assistant[data-done='1']", { timeout: 30000 });
  const first = await page.textContent(".assistant .answer-text");
  assert.ok(first.trim().length > 0, "the first answer has text");
  assert.ok(!first.includes("["), `no error or stop marker: ${first}`);

  // A long answer: stop it once some text has arrived. At temperature 1 the small test model can
  // end an answer on its own between the check and the click (a CI run saw it once); then the
  // Stop button is disabled again, and the test asks for another answer (up to 5 tries).
  await page.fill("#max_tokens", "2000");
  await page.fill("#temperature", "1");
  let stopped = null;
  for (let attempt = 0; attempt < 5 && stopped === null; attempt++) {
    const n = 2 + attempt;  // assistant answers on the page once this one has started
    await page.fill("#input", "Once upon a time");
    await page.click("#send");
    await page.waitForFunction((n) => {
      const answers = document.querySelectorAll(".assistant .answer-text");
      return answers.length === n && (answers[n - 1].textContent.length > 20 ||
                                      answers[n - 1].closest(".assistant").dataset.done === "1");
    }, n, { timeout: 30000 });
    try {
      await page.click("#stop", { timeout: 2000 });
    } catch {
      // disabled: the answer ended by itself
    }
    await page.waitForSelector(`.assistant[data-done='1'] >> nth=${n - 1}`, { timeout: 10000 });
    const text = await page.locator(".assistant .answer-text").nth(n - 1).textContent();
    if (text.endsWith("[stopped]")) stopped = text;
    else assert.ok(!text.includes("["), `an answer that ended by itself has no error marker: ${text.slice(-40)}`);
  }
  assert.ok(stopped !== null, "one of 5 long answers was stopped mid-stream and says so");
  assert.equal(await page.isDisabled("#stop"), true);
  assert.deepEqual(errors, []);

  // The server let go of the stopped request.
  let active = -1;
  for (let i = 0; i < 100 && active !== 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const metrics = await (await fetch(server.base + "/metrics")).text();
    active = Number(metrics.match(/^silica_active_sequences (\S+)$/m)[1]);
  }
  assert.equal(active, 0, "the stopped stream's sequence was freed");
  console.log("chat page checks passed");
} finally {
  await browser.close();
  assert.equal(await server.stop(), 0);
}

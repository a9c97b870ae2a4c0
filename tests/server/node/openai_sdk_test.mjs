// silica-server through the official OpenAI JavaScript SDK (npm `openai`, pinned in package.json):
// chat and completions, streamed and not, usage, stop strings, n = 2, logprobs, errors as the
// SDK's error types, and aborting a stream.
//
//   node openai_sdk_test.mjs SILICA_SERVER GPT2_MODEL GPT_OSS_MODEL
import assert from "node:assert/strict";
import { startServer } from "./server_process.mjs";
import { existsSync as haveFile } from "node:fs";
if (!haveFile(new URL("./node_modules/openai/package.json", import.meta.url))) {
  console.log("node_modules/openai is missing (npm ci could not reach the registry): skipped");
  process.exit(77);
}
const { default: OpenAI } = await import("openai");

const [binary, gpt2Model, ossModel] = process.argv.slice(2);
const KEY = "sdk-test-key";

// The iterator's next result, or `stalled` when it has not settled within `ms`.
const stalled = Symbol("stalled");
async function nextWithin(iterator, ms) {
  const pending = iterator.next();
  pending.catch(() => {});  // if it rejects after a stall, nobody awaits it any more
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(stalled), ms); });
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function completions() {
  const server = await startServer(binary, gpt2Model, ["--api-key", KEY, "--alias", "brown", "--parallel", "4"]);
  const client = new OpenAI({ baseURL: server.base + "/v1", apiKey: KEY });
  try {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ["brown"]);

    const whole = await client.completions.create({ model: "brown", prompt: "The jury said", max_tokens: 20, temperature: 0 });
    assert.equal(whole.object, "text_completion");
    assert.equal(whole.choices[0].finish_reason, "length");
    assert.equal(whole.usage.completion_tokens, 20);
    assert.ok(whole.choices[0].text.length > 0);

    // Streamed with usage: the same text.
    const stream = await client.completions.create({ model: "brown", prompt: "The jury said", max_tokens: 20, temperature: 0,
                                                     stream: true, stream_options: { include_usage: true } });
    let text = "", usage = null, finish = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) { text += c.text; finish = c.finish_reason ?? finish; }
    }
    assert.equal(text, whole.choices[0].text);
    assert.equal(finish, "length");
    assert.equal(usage.total_tokens, usage.prompt_tokens + 20);

    // Stop string, n = 2 with a seed, logprobs.
    const cut = whole.choices[0].text.slice(3, 6);
    const stopped = await client.completions.create({ model: "brown", prompt: "The jury said", max_tokens: 20, temperature: 0, stop: cut });
    assert.equal(stopped.choices[0].text, whole.choices[0].text.slice(0, whole.choices[0].text.indexOf(cut)));
    assert.equal(stopped.choices[0].finish_reason, "stop");
    const two = await client.completions.create({ model: "brown", prompt: "Once", max_tokens: 8, n: 2, seed: 5, logprobs: 2 });
    assert.equal(two.choices.length, 2);
    assert.equal(two.choices[1].logprobs.tokens.length, two.choices[1].logprobs.token_logprobs.length);

    // Errors surface as the SDK's types.
    await assert.rejects(client.completions.create({ model: "brown", prompt: "x", temperature: 7 }), OpenAI.BadRequestError);
    await assert.rejects(client.completions.create({ model: "gpt-4", prompt: "x" }), OpenAI.NotFoundError);
    await assert.rejects(client.chat.completions.create({ model: "brown", messages: [{ role: "user", content: "hi" }] }),
                         (e) => e instanceof OpenAI.BadRequestError && /completions/.test(e.message));
    const wrongKey = new OpenAI({ baseURL: server.base + "/v1", apiKey: "nope", maxRetries: 0 });
    await assert.rejects(wrongKey.models.list(), OpenAI.AuthenticationError);

    // Abort mid-stream: the loop ends with an abort error and the server frees the slot.
    // Once (ctest -j2, under load) the test hung until its 300 s timeout: the server had ended this
    // stream normally (a sampled end of text, status 200, nothing cancelled), and the SDK's iterator
    // never settled after the abort. So ignore_eos keeps the stream going until the abort lands, and
    // each chunk is raced against a timer: a client that never settles after its abort cannot hang
    // the test (what is checked is the server's side).
    const controller = new AbortController();
    const long = await client.completions.create({ model: "brown", prompt: "The", max_tokens: 400, stream: true, ignore_eos: true },
                                                 { signal: controller.signal });
    let pieces = 0;
    const chunks = long[Symbol.asyncIterator]();
    try {  // the SDK ends the loop quietly or with its abort error, depending on where the abort lands
      for (;;) {
        const next = await nextWithin(chunks, 10000);
        if (next === stalled) {
          assert.ok(pieces >= 3, "the stream stalled before it was aborted");
          break;
        }
        if (next.done) break;
        if (++pieces === 3) controller.abort();
      }
    } catch (e) {
      assert.ok(e instanceof OpenAI.APIUserAbortError || e.name === "AbortError", String(e));
    }
    assert.ok(pieces < 100, `the stream went on after the abort (${pieces} chunks)`);
    let active = -1;
    for (let i = 0; i < 100 && active !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const metrics = await (await fetch(server.base + "/metrics", { headers: { Authorization: "Bearer " + KEY } })).text();
      active = Number(metrics.match(/^silica_active_sequences (\S+)$/m)[1]);
    }
    assert.equal(active, 0, "the aborted stream's sequence was freed");
  } finally {
    assert.equal(await server.stop(), 0);
  }
}

async function chat() {
  const server = await startServer(binary, ossModel, ["--alias", "oss", "--parallel", "2"]);
  const client = new OpenAI({ baseURL: server.base + "/v1", apiKey: "unused" });
  try {
    const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }];
    const whole = await client.chat.completions.create({ model: "oss", messages, max_tokens: 40, temperature: 0, reasoning_effort: "low" });
    assert.equal(whole.object, "chat.completion");
    assert.equal(whole.choices[0].message.role, "assistant");
    const stream = await client.chat.completions.create({ model: "oss", messages, max_tokens: 40, temperature: 0, reasoning_effort: "low",
                                                          stream: true, logprobs: true, top_logprobs: 2 });
    let content = "", role = null, logprobs = 0;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      role = role ?? c.delta.role;
      content += c.delta.content ?? "";
      logprobs += c.logprobs?.content?.length ?? 0;
    }
    assert.equal(role, "assistant");
    assert.equal(content, whole.choices[0].message.content);
    assert.equal(logprobs, 40);
    const two = await client.chat.completions.create({ model: "oss", messages, max_tokens: 4, n: 2 });
    assert.equal(two.choices.length, 2);
  } finally {
    assert.equal(await server.stop(), 0);
  }
}

await completions();
await chat();
console.log("OpenAI SDK checks passed");

// Writes models/tokenizers/{gpt2,o200k_harmony}.vocab.gz from js-tiktoken's rank tables, with the
// tokens, token types, merges and special ids exactly as llama.cpp's converter stores them in GGUF.
// Usage: node export_vocab.mjs <output folder>     (format: models/tokenizers/README.md)
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { loadRanks, bytesToTokenString } from './vocab_common.mjs';

const NORMAL = 1, CONTROL = 3, UNUSED = 5;  // llama.cpp's token types

// tiktoken's BPE of `bytes` using only ranks below maxRank: the standard way to recover the merge
// that produced a token from a rank table (the result has exactly two parts for every token).
function bpeSplit(rankOf, bytes, maxRank) {
  let parts = [...bytes].map((b) => Buffer.from([b]));
  for (;;) {
    let best = -1, bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rankOf.get(Buffer.concat([parts[i], parts[i + 1]]).toString('latin1'));
      if (r !== undefined && r < maxRank && r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0) return parts;
    parts.splice(best, 2, Buffer.concat([parts[best], parts[best + 1]]));
  }
}

function rankIndex(byRank) {
  const rankOf = new Map();
  byRank.forEach((b, r) => rankOf.set(b.toString('latin1'), r));
  return rankOf;
}

// GPT-2: llama.cpp's GGUF carries the original merges.txt, which is exactly one merge per token.
function oneMergePerToken(byRank) {
  const rankOf = rankIndex(byRank);
  const merges = [];
  byRank.forEach((bytes, rank) => {
    if (bytes.length < 2) return;
    const parts = bpeSplit(rankOf, bytes, rank);
    if (parts.length !== 2) throw new Error(`rank ${rank} splits into ${parts.length} parts`);
    merges.push(`${bytesToTokenString(parts[0])} ${bytesToTokenString(parts[1])}`);
  });
  return merges;
}

// GPT-OSS: llama.cpp converts Hugging Face's tokenizer.json, whose merges were made by the
// transformers tiktoken converter: every split of every multi-byte token into two tokens, ordered
// by the merged token's rank, then by (left rank, right rank).
function everySplitMerges(byRank) {
  const rankOf = rankIndex(byRank);
  const merges = [];
  byRank.forEach((bytes) => {
    if (bytes.length < 2) return;
    const local = [];
    for (let k = 1; k < bytes.length; k++) {
      const l = rankOf.get(bytes.subarray(0, k).toString('latin1'));
      const r = rankOf.get(bytes.subarray(k).toString('latin1'));
      if (l !== undefined && r !== undefined) local.push([l, r]);
    }
    local.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const [l, r] of local) merges.push(`${bytesToTokenString(byRank[l])} ${bytesToTokenString(byRank[r])}`);
  });
  return merges;
}

function gpt2Vocab() {
  const { table, byRank } = loadRanks('gpt2');
  const tokens = byRank.map(bytesToTokenString);
  const types = tokens.map(() => NORMAL);
  for (const [text, id] of Object.entries(table.special_tokens)) {
    if (id !== tokens.length) throw new Error(`gpt2 special ${text} at ${id}`);
    tokens.push(text);
    types.push(CONTROL);
  }
  return {
    model: 'gpt2', pre: 'gpt-2', tokens, types, merges: oneMergePerToken(byRank),
    // llama.cpp's GPT-2 GGUF sets only bos and eos (both <|endoftext|>).
    special: { bos: 50256, eos: 50256, eot: -1, pad: -1, unk: -1 }, add_bos: null,
  };
}

// o200k_harmony as the gpt-oss tokenizer.json has it: o200k_base ranks 0..199997, then 21 special
// tokens (199998..200018); llama.cpp pads the rest of the 201088 rows with "[PAD<id>]" (UNUSED).
const HARMONY_SPECIALS = {
  199998: '<|startoftext|>', 199999: '<|endoftext|>', 200000: '<|reserved_200000|>',
  200001: '<|reserved_200001|>', 200002: '<|return|>', 200003: '<|constrain|>',
  200004: '<|reserved_200004|>', 200005: '<|channel|>', 200006: '<|start|>', 200007: '<|end|>',
  200008: '<|message|>', 200009: '<|reserved_200009|>', 200010: '<|reserved_200010|>',
  200011: '<|reserved_200011|>', 200012: '<|call|>', 200013: '<|reserved_200013|>',
  200014: '<|reserved_200014|>', 200015: '<|reserved_200015|>', 200016: '<|reserved_200016|>',
  200017: '<|reserved_200017|>', 200018: '<|endofprompt|>',
};
const GPT_OSS_VOCAB_SIZE = 201088;

function harmonyVocab() {
  const { byRank } = loadRanks('o200k_base');
  if (byRank.length !== 199998) throw new Error(`o200k_base has ${byRank.length} ranks`);
  const tokens = byRank.map(bytesToTokenString);
  const types = tokens.map(() => NORMAL);
  for (let id = tokens.length; id < GPT_OSS_VOCAB_SIZE; id++) {
    if (HARMONY_SPECIALS[id]) { tokens.push(HARMONY_SPECIALS[id]); types.push(CONTROL); }
    else { tokens.push(`[PAD${id}]`); types.push(UNUSED); }
  }
  return {
    model: 'gpt2', pre: 'gpt-4o', tokens, types, merges: everySplitMerges(byRank),
    special: { bos: 199998, eos: 200002, eot: -1, pad: 199999, unk: -1 }, add_bos: null,
  };
}

function serialize(v) {
  const lines = ['silica-bpe-vocab 1', `model ${v.model}`, `pre ${v.pre}`];
  for (const k of ['bos', 'eos', 'eot', 'pad', 'unk']) lines.push(`${k} ${v.special[k]}`);
  lines.push(`add_bos ${v.add_bos === null ? 'absent' : v.add_bos ? 1 : 0}`);
  lines.push(`tokens ${v.tokens.length}`);
  v.tokens.forEach((t, i) => {
    if (/[\n\r]/.test(t)) throw new Error(`token ${i} has a line break`);
    lines.push(`${v.types[i]} ${t}`);
  });
  lines.push(`merges ${v.merges.length}`);
  for (const m of v.merges) lines.push(m);
  lines.push('end');
  return gzipSync(Buffer.from(lines.join('\n') + '\n', 'utf8'), { level: 9 });
}

const outDir = process.argv[2] ?? '.';
for (const [file, make] of [['gpt2.vocab.gz', gpt2Vocab], ['o200k_harmony.vocab.gz', harmonyVocab]]) {
  const v = make();
  const gz = serialize(v);
  // gzip header mtime is 0 in node's gzipSync, so the output is byte-for-byte reproducible.
  writeFileSync(`${outDir}/${file}`, gz);
  console.log(`${file}: ${v.tokens.length} tokens, ${v.merges.length} merges, ${gz.length} bytes`);
}

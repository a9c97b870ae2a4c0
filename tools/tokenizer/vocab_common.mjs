// Shared helpers for the tokenizer data generators: decoding js-tiktoken's rank tables and
// GPT-2's byte-level mapping (bytes <-> printable unicode characters), as llama.cpp stores tokens.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const base64 = require('base64-js');

// js-tiktoken ships each rank table as { pat_str, special_tokens, bpe_ranks }, where bpe_ranks is
// lines of "! <first rank> <base64 token> <base64 token> ..." (consecutive ranks).
export function loadRanks(name) {
  const mod = require(`js-tiktoken/ranks/${name}`);
  const table = mod.default ?? mod;
  const byRank = [];
  for (const line of table.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offsetStr, ...tokens] = line.split(' ');
    const offset = Number.parseInt(offsetStr, 10);
    tokens.forEach((t, i) => { byRank[offset + i] = Buffer.from(base64.toByteArray(t)); });
  }
  for (let i = 0; i < byRank.length; i++) {
    if (!byRank[i]) throw new Error(`${name}: rank ${i} missing`);
  }
  return { table, byRank };
}

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the others to U+0100.. in order.
export function byteToUnicodeTable() {
  const table = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = printable ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  }
  return table;
}

const BYTE_TO_UNICODE = byteToUnicodeTable();
export function bytesToTokenString(buf) {
  let s = '';
  for (const b of buf) s += BYTE_TO_UNICODE[b];
  return s;
}

// Shared helpers for the tokenizer data generators: decoding js-tiktoken's rank tables and
// GPT-2's byte-level mapping (bytes <-> printable unicode characters), as llama.cpp stores tokens.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const base64 = require('base64-js');
import { Tiktoken } from 'js-tiktoken/lite';

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

// js-tiktoken's patterns are tiktoken's translated to JavaScript, which differs from tiktoken's
// Rust regex in two places; the patterns are patched back to Rust's meaning:
// - \s / \S: Rust means Unicode White_Space; JavaScript's \s adds U+FEFF and lacks U+0085.
// - o200k's (?i:'s|...): Rust's case-insensitive 's' also matches U+017F (long s, simple case
//   folding); js-tiktoken spells the alternatives out as 's|'S.
const WHITE_SPACE = '\\t\\n\\x0B\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
export function rustSemantics(pat) {
  return pat
    .replaceAll("'s|'S|", "'[sS\\u017F]|")
    .replaceAll('[^\\s', `[^${WHITE_SPACE}`)
    .replaceAll('\\s', `[${WHITE_SPACE}]`)
    .replaceAll('\\S', `[^${WHITE_SPACE}]`);
}

// tiktoken's encoder for `name` ('gpt2', 'o200k_base') with the pattern patched to Rust's meaning:
// the ids tiktoken itself gives.
export function exactEncoder(name) {
  const { table } = loadRanks(name);
  return new Tiktoken({ ...table, pat_str: rustSemantics(table.pat_str) });
}

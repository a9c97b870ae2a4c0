// Writes tests/data/tokenizer/corpus.tsv.gz: a deterministic corpus of strings with the token ids
// tiktoken gives them for gpt2 and o200k_base (special-token text encoded as plain text).
// Usage: node make_corpus.mjs <output file>      (format: tests/data/tokenizer/README.md)
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Tiktoken } from 'js-tiktoken/lite';
import { loadRanks, rustSemantics } from './vocab_common.mjs';

// ---- reference encoders ------------------------------------------------------------------------
function encoder(name) {
  const { table } = loadRanks(name);
  const patched = { ...table, pat_str: rustSemantics(table.pat_str) };
  return { plain: new Tiktoken(table), exact: new Tiktoken(patched), pat: patched.pat_str };
}

// ---- deterministic random ----------------------------------------------------------------------
let seed = 0x5111CA;
function rand() {  // mulberry32
  seed = (seed + 0x6D2B79F5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (a) => a[int(0, a.length - 1)];
const repeat = (n, f) => Array.from({ length: n }, f).join('');

// Code points of a range that are assigned (not \p{Cn}), not surrogates or private use.
function pool(ranges) {
  const out = [];
  for (const [lo, hi] of ranges) {
    for (let c = lo; c <= hi; c++) {
      const ch = String.fromCodePoint(c);
      if (!/[\p{Cn}\p{Cs}\p{Co}]/u.test(ch)) out.push(ch);
    }
  }
  return out;
}

const WORDS = ('the of and to in is was for that on with as by at from his it an were are which this be ' +
  'or has had not but first one their its new after who they have her she two been other when there ' +
  'all during into school time may years more most only over city some world would where later up such ' +
  'used many can state about national out known university united then made under american under ' +
  'between three however both century game including well team film several part number became').split(' ');
const SCRIPTS = {
  latin: pool([[0x41, 0x5a], [0x61, 0x7a], [0xc0, 0x17f]]),
  greek: pool([[0x391, 0x3a9], [0x3b1, 0x3c9], [0x1f00, 0x1f15]]),
  cyrillic: pool([[0x410, 0x44f], [0x400, 0x40f]]),
  armenian: pool([[0x531, 0x556], [0x561, 0x586]]),
  hebrew: pool([[0x5d0, 0x5ea]]),
  arabic: pool([[0x621, 0x64a], [0x671, 0x6d3]]),
  devanagari: pool([[0x905, 0x939], [0x93e, 0x94d]]),
  bengali: pool([[0x985, 0x9b9], [0x9be, 0x9cd]]),
  tamil: pool([[0xb85, 0xbb9], [0xbbe, 0xbcd]]),
  thai: pool([[0xe01, 0xe30], [0xe31, 0xe3a], [0xe40, 0xe4e]]),
  georgian: pool([[0x10d0, 0x10fa]]),
  ethiopic: pool([[0x1200, 0x1248]]),
  hangul: pool([[0xac00, 0xad00]]),
  hiragana: pool([[0x3041, 0x3096]]),
  katakana: pool([[0x30a1, 0x30fa]]),
  cjk: pool([[0x4e00, 0x4fff], [0x6c00, 0x6cff]]),
  cjk_ext_b: pool([[0x20000, 0x2003f]]),
  math_letters: pool([[0x1d400, 0x1d44f]]),
};
const DIGITS = {
  ascii: '0123456789', arabic_indic: '٠١٢٣٤٥٦٧٨٩', devanagari: '०१२३४५६७८९', fullwidth: '０１２３４５６７８９',
  bengali: '০১২৩৪৫৬৭৮৯', thai: '๐๑๒๓๔๕๖๗๘๙', roman: 'ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ', other: '²³¹¼½¾①②③⑴⑵',
};
const PUNCT = pool([[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e], [0xa1, 0xbf], [0x2010, 0x2027],
  [0x3001, 0x3011], [0xff01, 0xff0f], [0x2190, 0x21ff], [0x2200, 0x222f]]);
const COMBINING = pool([[0x300, 0x36f], [0x1ab0, 0x1abd], [0x20d0, 0x20f0]]);
const SPACES = [' ', ' ', ' ', '\t', '\n', '\r\n', '\r', '\u00a0', '\u3000', '\u2009', '\u0085', '\ufeff',
  '\u2028', '\u000b', '\f', '\u200b', '\u180e'];
const EMOJI = ['😀', '😂', '🥲', '👍', '👍🏽', '👩‍💻', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🏴‍☠️', '❤️', '❤', '☺️', '✌🏿', '🇫🇷',
  '🇯🇵', '🇺🇸', '1️⃣', '#️⃣', '🧑🏻‍🤝‍🧑🏿', '🐈‍⬛', '👁️‍🗨️', '⚠️', '✔️', '🔥', '🚀', '🫠', '🤌', '🦀', '©️', '™'];
const CONTRACTIONS = ["'s", "'S", "'t", "'T", "'re", "'rE", "'Re", "'RE", "'ve", "'vE", "'Ve", "'VE", "'m", "'M",
  "'ll", "'lL", "'Ll", "'LL", "'d", "'D", "’s", "'x", "''", "'"];
const CODE = [
  'int main(int argc, char** argv) {\n    printf("%d\\n", argc);\n    return 0;\n}\n',
  'def f(x):\n\treturn [i ** 2 for i in range(x) if i % 3 == 0]\n',
  'const add = (a, b) => a + b; // sum\nconsole.log(add(1, 2));',
  '{"name": "silica", "version": [0, 1, 0], "ok": true, "ratio": 1.25e-3}',
  'for f in *.txt; do echo "$f" | tr a-z A-Z >> out.log 2>&1; done',
  '<div class="x">&lt;b&gt;Hello&nbsp;world&lt;/b&gt;</div>\r\n',
  'SELECT id, COUNT(*) FROM users WHERE name LIKE \'%o\' GROUP BY id;',
  'template <typename T> struct V { std::vector<T> v; auto operator[](size_t i) -> T& { return v[i]; } };',
  '    if (x != nullptr && *x >= 0x7FFF && c == \'u\') {\n        x->y_z = ~0ULL;\n    }\n',
  'fn main() { let v: Vec<u8> = b"abc".to_vec(); println!("{:?}", v); }',
  '#include <iostream>\n#define MAX(a,b) ((a)>(b)?(a):(b))\n',
  'x = {"a": 1, \'b\': [2, 3]}\n\n\n    # comment with trailing spaces   \n',
  'https://example.com/path/to/file.html?query=1&other=two#frag',
  'C:\\Users\\name\\Documents\\file (1).txt',
  '    \t  mixed indent\n\t\t\tdeep\n',
];

// ---- generators per category -------------------------------------------------------------------
const word = () => pick(WORDS);
const casing = (w) => [w, w.toUpperCase(), w[0].toUpperCase() + w.slice(1), w.toLowerCase()][int(0, 3)];
const scriptWord = (s, n = int(1, 12)) => repeat(n, () => pick(SCRIPTS[s]));
const number = (n = int(1, 30)) => repeat(n, () => pick(DIGITS.ascii));
const spaceRun = () => repeat(int(1, 6), () => pick(SPACES));

function prose() {
  let s = '';
  const n = int(1, 30);
  for (let i = 0; i < n; i++) {
    s += (i ? pick([' ', ' ', ' ', '  ', ', ', '. ', '; ', ' - ', '\n']) : '') + casing(word());
    if (rand() < 0.05) s += pick(["'s", "'t", "'ll", '?', '!', ':', '...']);
  }
  return s + pick(['', '.', '!', '?', ' ', '\n']);
}
function contractions() {
  const c = pick(CONTRACTIONS);
  return pick([
    () => casing(word()) + c + ' ' + word(),
    () => c,
    () => ' ' + c + ' ',
    () => casing(word()) + c + c,
    () => scriptWord(pick(['cyrillic', 'greek', 'latin'])) + c,
    () => number(3) + c,
    () => "I" + c + " " + "WE" + pick(CONTRACTIONS) + " they" + pick(CONTRACTIONS),
    () => '  ' + c + '\n' + c.toUpperCase(),
  ])();
}
function scripts() {
  const names = Object.keys(SCRIPTS);
  let s = '';
  const n = int(1, 8);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.6) s += scriptWord(pick(names));
    else if (r < 0.85) s += repeat(int(1, 8), () => pick([...pick(Object.values(DIGITS))]));
    else s += pick(PUNCT);
    s += pick([' ', '', ' ', '\n', pick(PUNCT)]);
  }
  return s;
}
function emoji() {
  let s = '';
  const n = int(1, 8);
  for (let i = 0; i < n; i++) {
    s += pick([() => pick(EMOJI), () => pick(EMOJI) + pick(EMOJI), () => ' ' + pick(EMOJI),
      () => casing(word()) + pick(EMOJI), () => pick(EMOJI) + '\ufe0f', () => pick(EMOJI) + '\ufe0e',
      () => 'A\ufe0f', () => pick(EMOJI) + '\u200d' + pick(EMOJI), () => '\u200d', () => pick(['🏻', '🏿']),
    ])();
  }
  return s;
}
function cjk() {
  const s = () => scriptWord(pick(['cjk', 'hiragana', 'katakana', 'hangul', 'cjk_ext_b']), int(1, 20));
  return repeat(int(1, 5), () => s() + pick(['。', '、', '，', '！', '？', '「', '」', ' ', '', '\n', '（', '）', 'ー']));
}
function combining() {
  return pick([
    () => casing(word()).split('').map((ch) => ch + (rand() < 0.4 ? pick(COMBINING) : '')).join(''),
    () => 'e\u0301' + 'a\u0308' + ' cafe\u0301 ' + 'n\u0303o',
    () => 'नमस्ते दुनिया ' + scriptWord('devanagari') + ' क्षत्रिय ' + 'हिन्दी',
    () => 'السَّلَامُ عَلَيْكُمْ ' + scriptWord('arabic') + 'ً' + ' مُحَمَّد',
    () => 'שָׁלוֹם ' + scriptWord('hebrew') + '\u05b7',
    () => 'ภาษาไทย ' + scriptWord('thai'),
    () => 'தமிழ் ' + scriptWord('tamil') + ' বাংলা ' + scriptWord('bengali'),
    () => 'Z\u0351\u0352\u0353a\u0300\u0301\u0302l\u0336g\u0337o\u0338',
    () => pick(COMBINING) + casing(word()),
    () => ' ' + pick(COMBINING) + pick(COMBINING) + ' ' + number(2) + pick(COMBINING),
    () => scriptWord(pick(['devanagari', 'bengali', 'tamil', 'thai', 'arabic']), int(5, 30)),
    () => casing(word()) + "'" + pick(COMBINING) + 's',
    () => 'A\u0301B\u0301C' + "'S\u0301" + ' x\u20dd',
  ])();
}
function whitespace() {
  return pick([
    () => spaceRun(),
    () => casing(word()) + spaceRun() + casing(word()) + spaceRun(),
    () => ' '.repeat(int(1, 40)) + word(),
    () => word() + ' '.repeat(int(1, 20)),
    () => '\n'.repeat(int(1, 6)) + ' '.repeat(int(0, 4)) + word(),
    () => 'line one\r\nline two\r\n\r\n  line four  \r\n',
    () => '\t'.repeat(int(1, 5)) + word() + '\t' + word() + '\n',
    () => word() + ' \n ' + word() + ' \t\n\t ' + word(),
    () => repeat(int(2, 10), () => pick(SPACES)) + pick(['!', 'a', '1', '']),
    () => '   ' + "'s" + '   ' + number(2) + '   ',
    () => word() + '\u00a0' + word() + '\u3000' + word() + '\u0085' + word(),
  ])();
}
function numbers() {
  return pick([
    () => number(int(1, 40)),
    () => ' ' + number(int(1, 12)),
    () => number(3) + ',' + number(3) + ',' + number(3) + '.' + number(2),
    () => '-' + number(int(1, 8)) + '.' + number(int(1, 8)) + 'e-' + number(2),
    () => casing(word()) + number(int(1, 9)) + casing(word()) + number(int(1, 9)),
    () => '$' + number(int(1, 7)) + ' ' + number(1) + '%',
    () => repeat(int(2, 6), () => number(int(1, 5))).split('').join(pick(['', ' ', '.', '/'])),
    () => repeat(int(2, 10), () => pick([...pick(Object.values(DIGITS))])),
    () => '0x' + repeat(int(1, 16), () => pick([...'0123456789abcdefABCDEF'])),
    () => '2024-0' + int(1, 9) + '-1' + int(0, 9) + 'T' + int(10, 23) + ':' + int(10, 59) + ':00Z',
  ])();
}
function code() {
  const c = pick(CODE);
  return rand() < 0.5 ? c : c.slice(int(0, c.length - 1)) + pick(['', '\n', '  ', casing(word())]);
}
function longWords() {
  return pick([
    () => pick([...'aeiouxyzAEZ']).repeat(int(50, 1500)),
    () => repeat(int(100, 1500), () => pick(SCRIPTS.latin)),
    () => number(int(100, 1200)),
    () => pick(PUNCT).repeat(int(50, 800)),
    () => ' '.repeat(int(100, 2000)) + pick(['', 'x', '\n']),
    () => '\n'.repeat(int(50, 400)),
    () => repeat(int(50, 300), () => casing(word())),
    () => scriptWord(pick(Object.keys(SCRIPTS)), int(100, 600)),
    () => 'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(int(2, 20)),
    () => repeat(int(30, 200), () => pick(EMOJI)),
  ])();
}
function specialText() {
  const sp = pick(['<|endoftext|>', '<|start|>', '<|end|>', '<|message|>', '<|channel|>', '<|return|>', '<|call|>',
    '<|startoftext|>', '<|constrain|>', '<|endofprompt|>', '<|reserved_200013|>', '<|im_start|>', '<|', '|>']);
  return pick([
    () => sp,
    () => casing(word()) + sp + casing(word()),
    () => ' ' + sp + ' ' + sp,
    () => sp + '\n' + prose(),
    () => '<|start|>user<|message|>' + prose() + '<|end|><|start|>assistant',
    () => 'x<|endoftext|>y <|endoftext|> z<|endoftext|>',
  ])();
}
function mixed() {
  const gens = [prose, contractions, scripts, emoji, cjk, combining, whitespace, numbers, code, specialText];
  return repeat(int(2, 5), () => pick(gens)());
}

const FIXED = ['', ' ', '  ', '\n', '\r\n', '\t', 'a', 'A', '1', '!', "'s", "'S", "'LL", "don't", "DON'T", "Don'T",
  'Hello, world!', 'hello world', '   leading', 'trailing   ', 'über', 'naïve café', '日本語', '한국어', 'Ελληνικά',
  'Русский язык', 'عربي', 'हिन्दी', '🤗', '👨‍👩‍👧', '12345678901234567890', '3.14159', ' \n \n', '\u0085', '\ufeff',
  'a\u0085b', 'x\ufeffy', ' \u0085 ', '\u00a0\u00a0x', '<|endoftext|>', ' <|endoftext|>', "abc'\u017f",
  "ABC'\u017f x", "x'\u017f'S'\u017fT", '\u180e x \u180e\u180e'];

const CATEGORIES = [
  ['prose', prose, 320], ['contractions', contractions, 160], ['scripts', scripts, 300], ['emoji', emoji, 200],
  ['cjk', cjk, 150], ['combining', combining, 200], ['whitespace', whitespace, 200], ['numbers', numbers, 200],
  ['code', code, 150], ['long', longWords, 100], ['special', specialText, 60], ['mixed', mixed, 300],
];

// ---- output ------------------------------------------------------------------------------------
const escape = (s) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
const gpt2 = encoder('gpt2');
const o200k = encoder('o200k_base');
const cases = [...FIXED];
for (const [, gen, n] of CATEGORIES) for (let i = 0; i < n; i++) cases.push(gen());

const lines = [];
let jsDiffers = 0;
for (const text of cases) {
  const a = gpt2.exact.encode(text, [], []);
  const b = o200k.exact.encode(text, [], []);
  if (a.join() !== gpt2.plain.encode(text, [], []).join() || b.join() !== o200k.plain.encode(text, [], []).join()) jsDiffers++;
  // Byte-level round trip (TextDecoder would drop a leading U+FEFF, so compare bytes).
  const bytesOf = (enc, ids) => Buffer.concat(ids.map((id) => Buffer.from(enc.textMap.get(id))));
  if (!bytesOf(gpt2.exact, a).equals(Buffer.from(text)) || !bytesOf(o200k.exact, b).equals(Buffer.from(text)))
    throw new Error(`round trip failed: ${JSON.stringify(text)}`);
  lines.push(`${escape(text)}\t${a.join(' ')}\t${b.join(' ')}`);
}
const out = process.argv[2] ?? 'corpus.tsv.gz';
const gz = gzipSync(Buffer.from('# silica tokenizer corpus 1: text\\tgpt2 ids\\to200k_base ids\n' + lines.join('\n') + '\n', 'utf8'), { level: 9 });
writeFileSync(out, gz);
console.log(`${out}: ${cases.length} strings, ${gz.length} bytes; ${jsDiffers} tokenize differently under the unpatched JS patterns`);
console.log('gpt2 pattern:', gpt2.pat);
console.log('o200k pattern:', o200k.pat);

#!/usr/bin/env bash
# Command-line contract of `infer` (docs/DESIGN.md §3): exit codes, one-line errors, --tokenize,
# --logits-out, context limits, bad input. Usage: infer_cli_test.sh BUILD_DIR WORK_DIR
set -u
build="$1"
work="$2"
mkdir -p "$work"
infer="$build/infer"
synth="$build/synth"
model="$work/cli-tiny-gpt2.gguf"
passed=0
failed=0

check() {  # check NAME EXPECTED_STATUS STDERR_REGEX -- command...
  local name="$1" want="$2" pattern="$3"
  shift 4
  "$@" >"$work/out.txt" 2>"$work/err.txt"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL $name: exit $got, expected $want; stderr: $(head -c 300 "$work/err.txt")"
    failed=$((failed + 1))
    return
  fi
  if [ -n "$pattern" ] && ! grep -Eq "$pattern" "$work/err.txt"; then
    echo "FAIL $name: stderr does not match /$pattern/: $(head -c 300 "$work/err.txt")"
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + 1))
}

"$synth" --arch gpt2 --preset tiny --wtype q8_0 --seed 3 --out "$model" -q || { echo "FAIL synth"; exit 1; }

# Usage errors: exit 2, one line starting with "error:".
check "default model" 0 'using the default model .*silica-brown-18m-q4_k_m.gguf' -- "$infer" --prompt hi -n 2
check "no prompt" 2 '^error: ' -- "$infer" --model "$model"
check "bad flag" 2 '^error: ' -- "$infer" --model "$model" --prompt hi --frobnicate
check "bad number" 2 '^error: ' -- "$infer" --model "$model" --prompt hi -n many
check "bad kv type" 2 '^error: ' -- "$infer" --model "$model" --prompt hi --kv-type q3
check "bad token list" 2 '^error: ' -- "$infer" --model "$model" --prompt-tokens 1,x,3
check "two prompts" 2 '^error: ' -- "$infer" --model "$model" --prompt hi --prompt-tokens 1

# Runtime errors: exit 1, one line naming the problem.
check "missing file" 1 "^error: $work/none.gguf: No such file" -- "$infer" --model "$work/none.gguf" --prompt hi
printf 'GGUF\x03\x00\x00\x00' >"$work/trunc.gguf"
check "truncated gguf" 1 "^error: $work/trunc.gguf: .*truncated" -- "$infer" --model "$work/trunc.gguf" --prompt hi
head -c 100000 "$model" >"$work/cut.gguf"
check "cut gguf" 1 "^error: $work/cut.gguf: " -- "$infer" --model "$work/cut.gguf" --info
printf 'abc\xff\xfe' >"$work/bad-utf8.txt"
check "invalid utf-8" 1 '^error: .*UTF-8' -- "$infer" --model "$model" --prompt-file "$work/bad-utf8.txt"
check "token out of range" 1 '^error: .*out of range' -- "$infer" --model "$model" --prompt-tokens 1,50257
check "prompt longer than context" 1 '^error: the prompt has 20 tokens but the context holds 8' -- \
  "$infer" --model "$model" --prompt-tokens 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20 --ctx-size 8
check "context past training" 1 '^error: .*trained context' -- "$infer" --model "$model" --prompt hi --ctx-size 4096

# Successful runs.
check "info" 0 '' -- "$infer" --model "$model" --info
grep -q "architecture:  gpt2" "$work/out.txt" || { echo "FAIL info output"; failed=$((failed + 1)); }
check "tokenize" 0 '' -- "$infer" --model "$model" --prompt "Hello world<|endoftext|>" --tokenize
[ "$(cat "$work/out.txt")" = "[15496, 995, 27, 91, 437, 1659, 5239, 91, 29]" ] ||
  { echo "FAIL tokenize plain: $(cat "$work/out.txt")"; failed=$((failed + 1)); }
check "tokenize special" 0 '' -- "$infer" --model "$model" --prompt "Hello world<|endoftext|>" --tokenize --parse-special
[ "$(cat "$work/out.txt")" = "[15496, 995, 50256]" ] ||
  { echo "FAIL tokenize special: $(cat "$work/out.txt")"; failed=$((failed + 1)); }
printf 'line one\r\nline two\n' >"$work/prompt.txt"
check "prompt file byte for byte" 0 '' -- "$infer" --model "$model" --prompt-file "$work/prompt.txt" --tokenize
[ "$(cat "$work/out.txt")" = "[1370, 530, 201, 198, 1370, 734, 198]" ] ||
  { echo "FAIL prompt file tokens: $(cat "$work/out.txt")"; failed=$((failed + 1)); }
check "generate" 0 'generated 8 tokens' -- "$infer" --model "$model" --prompt "Hello" -n 8 --temp 0
check "evaluate only" 0 'generated 0 tokens' -- "$infer" --model "$model" --prompt "Hello" -n 0
check "context fills during generation" 0 'context of 6 tokens is full' -- \
  "$infer" --model "$model" --prompt-tokens 1,2,3 -n 50 --ctx-size 6 --temp 0
check "logits out" 0 '' -- "$infer" --model "$model" --prompt-tokens 1,2,3,4,5 -n 0 --logits-out "$work/logits.npy"
size=$(stat -c %s "$work/logits.npy")
[ "$size" -eq $((128 + 5 * 50257 * 4)) ] || { echo "FAIL logits.npy size $size"; failed=$((failed + 1)); }
head -c 128 "$work/logits.npy" | grep -q "'shape': (5,50257)" || { echo "FAIL logits.npy header"; failed=$((failed + 1)); }
check "seeded sampling is repeatable (1)" 0 '' -- "$infer" --model "$model" --prompt "Once" -n 12 --temp 1 --seed 9
cp "$work/out.txt" "$work/first.txt"
check "seeded sampling is repeatable (2)" 0 '' -- "$infer" --model "$model" --prompt "Once" -n 12 --temp 1 --seed 9
cmp -s "$work/out.txt" "$work/first.txt" || { echo "FAIL same seed gave different text"; failed=$((failed + 1)); }

# Harmony chat (GPT-OSS).
oss="$work/cli-tiny-gpt-oss.gguf"
"$synth" --arch gpt-oss --preset tiny --wtype q8_0 --seed 3 --out "$oss" -q || { echo "FAIL synth gpt-oss"; exit 1; }
check "chat needs a harmony vocabulary" 1 '^error: .*no harmony chat format' -- "$infer" --model "$model" --chat --prompt hi
check "bad reasoning level" 2 '^error: ' -- "$infer" --model "$oss" --chat --prompt hi --reasoning extreme
check "chat prompt tokens" 0 '' -- "$infer" --model "$oss" --chat --prompt "Hi" --reasoning high --tokenize
tokens=$(cat "$work/out.txt")
case "$tokens" in
  "[200006, 17360, 200008, "*", 200007, 200006, 1428, 200008, 12194, 200007, 200006, 173781]") passed=$((passed + 1)) ;;
  *) echo "FAIL chat prompt tokens: $tokens"; failed=$((failed + 1)) ;;
esac
check "chat generates" 0 'generated [1-9][0-9]* tokens' -- "$infer" --model "$oss" --chat --prompt "Hi" -n 16 --temp 0
check "interactive keeps the conversation" 0 'generated 24 tokens' -- \
  bash -c "printf 'second turn\nthird turn\n' | '$infer' --model '$oss' --chat --interactive --prompt Hi -n 8 --temp 0"

# --session: saved after a run, reused by the next, refused when it belongs to another model.
sess="$work/cli.session"
rm -f "$sess"
check "session first run" 0 'reused 0 of 40 prompt tokens' -- \
  "$infer" --model "$model" --prompt-tokens "$(seq -s, 100 139)" -n 4 --temp 0 --session "$sess"
cp "$work/out.txt" "$work/session-cold.txt"
[ -s "$sess" ] || { echo "FAIL session file not written"; failed=$((failed + 1)); }
check "session reused" 0 'reused 39 of 40 prompt tokens' -- \
  "$infer" --model "$model" --prompt-tokens "$(seq -s, 100 139)" -n 4 --temp 0 --session "$sess"
cmp -s "$work/out.txt" "$work/session-cold.txt" || { echo "FAIL session changed the output"; failed=$((failed + 1)); }
check "session of another model" 1 "^error: $sess: session was saved with a different model" -- \
  "$infer" --model "$oss" --prompt hi -n 1 --session "$sess"
head -c 100 "$sess" >"$work/cut.session"
check "truncated session" 1 "^error: $work/cut.session: " -- "$infer" --model "$model" --prompt hi --session "$work/cut.session"

# KV tiers: --info reports bytes per token per tier; --kv-budget picks the hot tokens or fails clearly.
check "kv info" 0 '' -- "$infer" --model "$model" --info --kv-hot 64
grep -Eq '^KV cache: hot f16 for the newest 64 tokens, .* KiB per token; warm q8_0 before them' "$work/out.txt" ||
  { echo "FAIL kv info: $(grep '^KV' "$work/out.txt")"; failed=$((failed + 1)); }
check "kv budget too small" 1 '^error: KV cache: a context of .* even with every block in q8_0' -- \
  "$infer" --model "$model" --prompt hi --kv-budget 0.001
check "bad kv budget" 2 '^error: ' -- "$infer" --model "$model" --prompt hi --kv-budget -5
check "warm tier run" 0 'KV cache in use: .* MiB hot, .* MiB warm' -- \
  "$infer" --model "$model" --prompt-tokens "$(seq -s, 100 199)" -n 4 --temp 0 --kv-hot 32 -v

# Speculative decoding: greedy text identical to plain decoding; bad combinations are errors.
draft="$work/cli-tiny-gpt2-draft.gguf"
"$synth" --arch gpt2 --preset tiny --wtype q8_0 --seed 4 --out "$draft" -q || { echo "FAIL synth draft"; exit 1; }
spec_prompt="$(seq -s, 100 111),$(seq -s, 100 111),100,101,102"
check "plain for speculative" 0 'generated 30 tokens' -- "$infer" --model "$model" --prompt-tokens "$spec_prompt" -n 30 --temp 0
cp "$work/out.txt" "$work/plain.txt"
check "lookup" 0 'speculative \(n-gram lookup\): [1-9][0-9]* of' -- \
  "$infer" --model "$model" --prompt-tokens "$spec_prompt" -n 30 --temp 0 --lookup --draft-max 5
cmp -s "$work/out.txt" "$work/plain.txt" || { echo "FAIL --lookup changed the greedy text"; failed=$((failed + 1)); }
check "draft model" 0 'speculative \(draft model\)' -- \
  "$infer" --model "$model" --prompt-tokens "$spec_prompt" -n 30 --temp 0 --draft-model "$draft" --draft-p-min 0
cmp -s "$work/out.txt" "$work/plain.txt" || { echo "FAIL --draft-model changed the greedy text"; failed=$((failed + 1)); }
check "lookup and draft" 2 '^error: .*excludes' -- "$infer" --model "$model" --prompt hi --lookup --draft-model "$draft"
check "draft-max alone" 2 '^error: .*need --draft-model or --lookup' -- "$infer" --model "$model" --prompt hi --draft-max 4
check "verify cost alone" 2 '^error: .*need --draft-model or --lookup' -- "$infer" --model "$model" --prompt hi --verify-cost-per-token 0.3
check "bad verify cost" 2 '^error: ' -- "$infer" --model "$model" --prompt hi --lookup --verify-cost-per-token -1
check "bad draft-max" 2 '^error: ' -- "$infer" --model "$model" --prompt hi --lookup --draft-max 0
check "draft vocabulary" 1 "^error: the draft model $oss has 201088 tokens, the model $model has 50257" -- \
  "$infer" --model "$model" --prompt hi --draft-model "$oss"
check "missing draft" 1 "^error: $work/none.gguf: No such file" -- "$infer" --model "$model" --prompt hi --draft-model "$work/none.gguf"

echo "infer_cli_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

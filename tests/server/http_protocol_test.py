#!/usr/bin/env python3
"""silica-server over raw HTTP: OpenAI response shapes, streaming, every error case, keep-alive,
slow readers, clients that go away, the API key, and a clean SIGTERM.

usage: http_protocol_test.py --server BIN --infer BIN --gpt2 MODEL --gpt-oss MODEL --draft MODEL"""
import argparse
import json
import socket
import subprocess
import sys
import threading
import time

from server_harness import Server, wait_for

KEY = "test-key-123"
AUTH = {"Authorization": "Bearer " + KEY}
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def infer_greedy(infer, model, prompt, n):
    out = subprocess.run([infer, "--model", model, "--prompt", prompt, "-n", str(n), "--temp", "0"],
                         capture_output=True, text=True, check=True)
    return out.stdout.rstrip("\n")


def test_completions(s, args):
    prompt = "The jury said"
    status, r = s.post_json("/v1/completions", {"model": "brown", "prompt": prompt, "max_tokens": 24, "temperature": 0}, AUTH)
    check(status == 200, f"completion status {status} {r}")
    check(r["object"] == "text_completion" and r["id"].startswith("cmpl-"), "completion envelope")
    c = r["choices"][0]
    check(c["finish_reason"] == "length" and c["index"] == 0, "completion finish_reason")
    check(r["usage"]["completion_tokens"] == 24 and r["usage"]["prompt_tokens"] == 3
          and r["usage"]["total_tokens"] == 27, f"usage {r['usage']}")
    # The same greedy text as infer on the same file (an outside check of the whole path).
    expected = infer_greedy(args.infer, args.gpt2, prompt, 24)
    check(c["text"] == expected, f"greedy text {c['text']!r} != infer's {expected!r}")

    # Streamed: the same text, one chunk per piece, finish_reason, usage, [DONE].
    events, raw = s.stream("/v1/completions", {"model": "brown", "prompt": prompt, "max_tokens": 24, "temperature": 0,
                                               "stream": True, "stream_options": {"include_usage": True}}, AUTH)
    check(events[-1] == "[DONE]", "stream ends with [DONE]")
    chunks = [e for e in events if e != "[DONE]"]
    text = "".join(ch["choices"][0]["text"] for ch in chunks if ch["choices"])
    check(text == expected, f"streamed text {text!r}")
    finishes = [ch["choices"][0]["finish_reason"] for ch in chunks if ch["choices"]]
    check(finishes[-1] == "length" and all(f is None for f in finishes[:-1]), "stream finish_reason only at the end")
    check(chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 24, "usage chunk")
    check(len({ch["id"] for ch in chunks}) == 1, "one id per stream")

    # Stop strings: the text ends before the stop string, finish_reason stop.
    cut = expected[5:9]
    status, r = s.post_json("/v1/completions", {"prompt": prompt, "max_tokens": 24, "temperature": 0, "stop": [cut]}, AUTH)
    check(r["choices"][0]["text"] == expected[:expected.index(cut)] and r["choices"][0]["finish_reason"] == "stop",
          f"stop string: {r['choices'][0]}")

    # n = 2 with a seed: two choices; the same seed gives the same text again.
    body = {"prompt": prompt, "max_tokens": 12, "temperature": 1.0, "n": 2, "seed": 99}
    _, a = s.post_json("/v1/completions", body, AUTH)
    _, b = s.post_json("/v1/completions", body, AUTH)
    check(len(a["choices"]) == 2 and [c["index"] for c in a["choices"]] == [0, 1], "n = 2")
    check([c["text"] for c in a["choices"]] == [c["text"] for c in b["choices"]], "same seed, same text")
    check(a["usage"]["completion_tokens"] == 24, "usage counts every choice")

    # Logprobs (legacy shape): one entry per token, top alternatives, offsets.
    _, r = s.post_json("/v1/completions", {"prompt": prompt, "max_tokens": 5, "temperature": 0, "logprobs": 3}, AUTH)
    lp = r["choices"][0]["logprobs"]
    check(len(lp["tokens"]) == 5 and len(lp["token_logprobs"]) == 5 and len(lp["top_logprobs"][0]) == 3,
          f"logprobs {lp}")
    check(all(v <= 0 for v in lp["token_logprobs"]), "logprobs are log-probabilities")
    check(max(lp["top_logprobs"][0].values()) == lp["token_logprobs"][0], "greedy picks the top logprob")

    # Token-id prompts and an empty prompt.
    status, tk = s.post_json("/tokenize", {"content": prompt}, AUTH)
    check(status == 200 and len(tk["tokens"]) == 3, f"tokenize {tk}")
    status, dt = s.post_json("/detokenize", {"tokens": tk["tokens"]}, AUTH)
    check(status == 200 and dt["content"] == prompt, f"detokenize {dt}")
    _, r = s.post_json("/v1/completions", {"prompt": tk["tokens"], "max_tokens": 24, "temperature": 0}, AUTH)
    check(r["choices"][0]["text"] == expected, "token prompt gives the same text")
    status, r = s.post_json("/v1/completions", {"prompt": "", "max_tokens": 3}, AUTH)
    check(status == 200 and r["usage"]["prompt_tokens"] == 1, "empty prompt starts from <|endoftext|>")


def test_errors(s):
    def expect(status_wanted, method, path, body, code=None, param=None, headers=AUTH):
        status, data = s.request(method, path, body, headers)
        try:
            j = json.loads(data)
        except ValueError:
            j = None
        ok = status == status_wanted and j is not None and "error" in j and {"message", "type", "code"} <= j["error"].keys()
        if ok and code is not None:
            ok = j["error"]["code"] == code
        if ok and param is not None:
            ok = j["error"]["param"] == param
        check(ok, f"{method} {path} {str(body)[:60]!r}: wanted {status_wanted} {code} {param}, got {status} {data[:200]!r}")

    expect(400, "POST", "/v1/completions", "{not json")
    expect(400, "POST", "/v1/completions", b'{"prompt":"\xff\xfe"}')
    expect(400, "POST", "/v1/completions", {"prompt": "x", "max_tokens": "ten"}, param="max_tokens")
    expect(400, "POST", "/v1/completions", {"prompt": "x", "temperature": -1}, param="temperature")
    expect(400, "POST", "/v1/completions", {"prompt": "x", "n": 100}, param="n")
    expect(400, "POST", "/v1/completions", {"max_tokens": 3}, param="prompt")
    expect(400, "POST", "/v1/completions", {"prompt": [999999999]}, param="prompt")
    expect(400, "POST", "/v1/completions", {"prompt": "word " * 600}, code="context_length_exceeded")
    expect(400, "POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, code="no_chat_format")
    expect(404, "POST", "/v1/completions", {"model": "gpt-4", "prompt": "x"}, code="model_not_found")
    expect(404, "GET", "/v1/nothing", None, code="not_found")
    expect(413, "POST", "/v1/completions", {"prompt": "x" * 300000}, code="body_too_large")
    expect(401, "POST", "/v1/completions", {"prompt": "x"}, code="invalid_api_key", headers={})
    expect(401, "GET", "/v1/models", None, code="invalid_api_key", headers={"Authorization": "Bearer wrong"})
    expect(400, "POST", "/tokenize", {"content": 5}, param="content")
    expect(400, "POST", "/detokenize", {"tokens": [-1]}, param="tokens")
    check(s.get("/health")[0] == 200, "/health needs no key")
    status, _ = s.get("/")
    check(status == 200, "the chat page needs no key")


def test_connections(s):
    # Many requests on one keep-alive connection.
    conn = s.connection()
    for i in range(20):
        status, r = s.post_json("/v1/completions", {"prompt": f"Number {i}", "max_tokens": 2}, AUTH, conn=conn)
        check(status == 200, f"keep-alive request {i}: {status}")
    conn.close()

    # A slow reader still gets the whole stream.
    sock = socket.create_connection((s.host, s.port))
    body = json.dumps({"prompt": "The", "max_tokens": 40, "temperature": 0, "stream": True}).encode()
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
                 b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    received = b""
    while b"data: [DONE]" not in received:
        time.sleep(0.02)
        part = sock.recv(64)
        if not part:
            break
        received += part
    sock.close()
    check(b"data: [DONE]" in received, "slow reader got [DONE]")

    # A client that goes away mid-stream: its sequence is freed.
    before = s.metrics().get("silica_requests_cancelled_total", 0)
    sock, received = s.open_stream({"prompt": "The", "max_tokens": 400}, AUTH)
    check(b"data: " in received, "stream started")
    sock.close()
    check(wait_for(lambda: s.metrics().get("silica_requests_cancelled_total", 0) == before + 1),
          "the server noticed the client left")
    check(wait_for(lambda: s.metrics()["silica_active_sequences"] == 0), "its sequence was freed")

    # Garbage on the socket does not hurt the server.
    for junk in [b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b"POST /v1/completions HTTP/1.1\r\n"]:
        sock = socket.create_connection((s.host, s.port))
        sock.sendall(junk)
        sock.settimeout(2)
        try:
            sock.recv(1024)
        except OSError:
            pass
        sock.close()
    check(s.get("/health")[0] == 200, "alive after garbage")


def test_chat(args):
    with Server(args.server, args.gpt_oss, "--parallel", "2", "--alias", "oss") as s:
        status, r = s.post_json("/v1/chat/completions", {"model": "oss", "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
            "max_tokens": 48, "temperature": 0, "reasoning_effort": "low"})
        check(status == 200 and r["object"] == "chat.completion", f"chat {status} {r}")
        m = r["choices"][0]["message"]
        check(m["role"] == "assistant" and isinstance(m["content"], str), "chat message")
        check(r["usage"]["prompt_tokens"] > 20, "harmony prompt")
        events, _ = s.stream("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 48,
                                                      "temperature": 0, "stream": True, "logprobs": True, "top_logprobs": 2})
        chunks = [e for e in events if e != "[DONE]"]
        check(chunks[0]["object"] == "chat.completion.chunk" and chunks[0]["choices"][0]["delta"].get("role") == "assistant",
              "first delta carries the role")
        check(chunks[-1]["choices"][0]["finish_reason"] == "length", "chat stream finish")
        with_lp = [c for c in chunks if c["choices"][0]["logprobs"]]
        check(with_lp and len(with_lp[0]["choices"][0]["logprobs"]["content"][0]["top_logprobs"]) == 2, "chat logprobs")
        streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        _, whole = s.post_json("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 48,
                                                        "temperature": 0})
        check(streamed == whole["choices"][0]["message"]["content"], "streamed chat = whole chat")
        check(s.stop() == 0, "exit 0 on SIGTERM")


def test_lookup(s):
    """Speculative decoding by n-gram lookup ("lookup": true): the same greedy text, streamed or
    not, with proposals verified, some kept and some rejected (the KV cache truncated)."""
    passage = ("The jury said it did find that many of the city's registration and election laws were "
               "outmoded or inadequate and often ambiguous. It recommended that the legislators act to have "
               "these laws studied and revised.")
    prompt = passage + "\n\nAgain: " + passage[:60]
    before = s.metrics()
    body = {"prompt": prompt, "max_tokens": 40, "temperature": 0}
    _, plain = s.post_json("/v1/completions", body, AUTH)
    _, fast = s.post_json("/v1/completions", dict(body, lookup=True, draft_max=6), AUTH)
    check(fast["choices"][0]["text"] == plain["choices"][0]["text"],
          f"lookup changed the greedy text: {fast['choices'][0]['text']!r} vs {plain['choices'][0]['text']!r}")
    events, _ = s.stream("/v1/completions", dict(body, lookup=True, stream=True), AUTH)
    text = "".join(e["choices"][0]["text"] for e in events if e != "[DONE]" and e["choices"])
    check(text == plain["choices"][0]["text"], f"streamed lookup text {text!r}")
    after = s.metrics()
    proposed = after["silica_speculative_proposed_tokens_total"] - before.get("silica_speculative_proposed_tokens_total", 0)
    accepted = after["silica_speculative_accepted_tokens_total"] - before.get("silica_speculative_accepted_tokens_total", 0)
    check(accepted > 0 and proposed > accepted, f"lookup proposals: {proposed} proposed, {accepted} accepted")
    check(after["silica_active_sequences"] == 0 or wait_for(lambda: s.metrics()["silica_active_sequences"] == 0),
          "lookup requests freed their sequences")
    for bad in ({"lookup": "yes"}, {"draft_max": 0}, {"draft_max": 65}, {"draft_max": 2.5}):
        status, r = s.post_json("/v1/completions", dict(body, **bad), AUTH)
        check(status == 400 and r["error"]["param"] == list(bad)[0], f"bad {bad}: {status} {r}")


def test_draft(args):
    """Speculative decoding with a draft model (--draft-model): the same greedy text as without it,
    streamed or not, with proposals both kept and rejected; "draft": false and the 400s; a draft
    with another vocabulary stops the server at startup."""
    with Server(args.server, args.gpt2, "--parallel", "2", "--draft-model", args.draft, "--draft-p-min", "0") as s:
        body = {"prompt": "The jury said", "max_tokens": 40, "temperature": 0}
        _, plain = s.post_json("/v1/completions", dict(body, draft=False))
        expected = plain["choices"][0]["text"]
        # infer prints the same text (its last newline stripped by infer_greedy)
        check(expected.rstrip("\n") == infer_greedy(args.infer, args.gpt2, body["prompt"], 40),
              "draft: false gives infer's greedy text")
        before = s.metrics()
        _, fast = s.post_json("/v1/completions", dict(body, n=2))
        for c in fast["choices"]:
            check(c["text"] == expected, f"the draft model changed the greedy text: {c['text']!r} vs {expected!r}")
        events, _ = s.stream("/v1/completions", dict(body, stream=True))
        text = "".join(e["choices"][0]["text"] for e in events if e != "[DONE]" and e["choices"])
        check(text == expected, f"streamed draft text {text!r}")
        after = s.metrics()
        proposed = after["silica_speculative_proposed_tokens_total"] - before.get("silica_speculative_proposed_tokens_total", 0)
        accepted = after["silica_speculative_accepted_tokens_total"] - before.get("silica_speculative_accepted_tokens_total", 0)
        check(accepted > 0 and proposed > accepted, f"draft proposals: {proposed} proposed, {accepted} accepted")
        check(after["silica_speculative_draft_passes_total"] > before.get("silica_speculative_draft_passes_total", 0),
              "draft passes counted")
        check(wait_for(lambda: s.metrics()["silica_draft_sequences"] == 0), "draft sequences freed")
        status, r = s.post_json("/v1/completions", dict(body, lookup=True))
        check(status == 400 and r["error"]["param"] == "lookup", f"lookup with the draft on: {status} {r}")
        status, _ = s.post_json("/v1/completions", dict(body, lookup=True, draft=False))
        check(status == 200, "lookup with the draft off")
        check(s.stop() == 0, "exit 0 on SIGTERM")
    with Server(args.server, args.gpt2, "--parallel", "2") as s:
        status, r = s.post_json("/v1/completions", {"prompt": "x", "max_tokens": 2, "draft": True})
        check(status == 400 and r["error"]["param"] == "draft", f"draft without a draft model: {status} {r}")
        check(s.stop() == 0, "exit 0 on SIGTERM")
    # A draft with another vocabulary (GPT-OSS's 201088 tokens for GPT-2's 50257): the server exits
    # while loading, with one line naming both sizes.
    try:
        with Server(args.server, args.gpt2, "--draft-model", args.gpt_oss):
            check(False, "a draft with another vocabulary was accepted")
    except RuntimeError as e:
        message = str(e)
        check("exited while loading" in message and "201088" in message and "50257" in message,
              f"vocabulary mismatch: {message!r}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--infer", required=True)
    p.add_argument("--gpt2", required=True)
    p.add_argument("--gpt-oss", required=True)
    p.add_argument("--draft", required=True)
    args = p.parse_args()

    with Server(args.server, args.gpt2, "--parallel", "4", "--api-key", KEY, "--alias", "brown", "--max-body", "0.25") as s:
        s.auth = AUTH
        test_completions(s, args)
        test_lookup(s)
        test_errors(s)
        test_connections(s)
        # SIGTERM while a stream runs: it finishes (grace), then exit 0.
        result = {}

        def long_stream():
            result["events"], _ = s.stream("/v1/completions", {"prompt": "The", "max_tokens": 60, "stream": True}, AUTH)

        t = threading.Thread(target=long_stream)
        t.start()
        time.sleep(0.3)
        check(s.stop() == 0, "exit 0 on SIGTERM")
        t.join(30)
        check(result.get("events", [None])[-1] == "[DONE]", "the running stream finished during the grace period")
        check(any("stopped" in line for line in s.stderr_lines), "server said it stopped")
    test_chat(args)
    test_draft(args)
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("all server protocol checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""silica-server under load: 32 concurrent clients send 500 requests, 20% of them hang up
mid-stream and 10% are malformed. Every valid request must complete with the text the same request
gives when it runs alone, nothing but deliberate 503s may be a 5xx, and afterwards no slot or KV
block may be left in use and the RSS must be back within 5% of its value before the load.

usage: load_test.py --server BIN --model MODEL [--requests 500] [--clients 32]"""
import argparse
import json
import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from server_harness import Server, wait_for

SYSTEM = ("The following is a report from the city desk of a newspaper in 1961. The editors asked "
          "for short, plain sentences about the news of the day, and the reporter wrote: ")
TOPICS = ["The jury said", "The mayor of the city", "In the morning the farmers", "The school board voted",
          "After the election", "The new hospital", "Rain fell on", "The president told the press",
          "Two men were arrested", "The church choir", "On Sunday the team", "The price of wheat"]


def valid_requests(rng):
    """(kind, body) of the distinct valid requests: greedy, some streamed, some with the shared
    system prompt (prefix cache), some with stop strings."""
    out = []
    for i, topic in enumerate(TOPICS):
        prompt = (SYSTEM if i % 2 == 0 else "") + topic
        body = {"prompt": prompt, "max_tokens": 16 + (i * 7) % 24, "temperature": 0}
        if i % 3 == 0:
            body["stop"] = ["."]
        out.append(body)
    return out


def stream_text(events):
    return "".join(e["choices"][0]["text"] for e in events if e != "[DONE]" and e["choices"])


def run_valid(s, body, stream):
    if stream:
        events, _ = s.stream("/v1/completions", dict(body, stream=True))
        assert events[-1] == "[DONE]", "stream did not end with [DONE]"
        return 200, stream_text(events)
    status, r = s.post_json("/v1/completions", body)
    if status != 200:
        return status, r
    return status, r["choices"][0]["text"]


def run_cancelled(s, body):
    """Starts a stream and hangs up after its first event; returns the HTTP status seen."""
    sock, received = s.open_stream(dict(body, max_tokens=200))
    sock.close()
    return received.split(b" ", 2)[1].decode() if received.startswith(b"HTTP/1.1") else "?"


MALFORMED = ['{"prompt": ', '[]', '{"prompt": 5}', '{"prompt": "x", "max_tokens": -1}', '{"prompt": "x", "n": "two"}',
             b'{"prompt": "\xc3\x28"}', '{"prompt": "x", "stop": [1, 2]}', '{"prompt": "x", "temperature": 9}', '']


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--clients", type=int, default=32)
    args = p.parse_args()
    rng = random.Random(1234)
    failures = []

    with Server(args.server, args.model, "--parallel", "8", "--queue", "64") as s:
        bodies = valid_requests(rng)
        alone = []
        for b in bodies:
            status, text = run_valid(s, b, stream=False)
            assert status == 200, (status, text)
            alone.append(text)
        def make_plan(n):
            plan = []
            for _ in range(n):
                x = rng.random()
                kind = "cancel" if x < 0.2 else "malformed" if x < 0.3 else "stream" if x < 0.65 else "whole"
                plan.append((kind, rng.randrange(len(bodies)), rng.randrange(len(MALFORMED))))
            return plan

        plan = make_plan(args.requests)
        lock = threading.Lock()
        counts = {}

        def one(item):
            kind, b, m = item
            try:
                if kind == "cancel":
                    status = run_cancelled(s, bodies[b])
                    ok = status in ("200", "503")
                elif kind == "malformed":
                    status, _ = s.request("POST", "/v1/completions", MALFORMED[m])
                    ok = status == 400
                else:
                    status, text = run_valid(s, bodies[b], stream=(kind == "stream"))
                    ok = status == 503 or (status == 200 and text == alone[b])
                    if status == 200 and text != alone[b]:
                        failures.append(f"request {b} ({kind}) gave {text!r}, alone {alone[b]!r}")
                with lock:
                    counts[(kind, str(status))] = counts.get((kind, str(status)), 0) + 1
                if not ok:
                    failures.append(f"{kind} request {b}/{m}: status {status}")
            except Exception as e:  # a dropped connection or a bad response is a failure, not a crash of the test
                failures.append(f"{kind} request {b}/{m}: {type(e).__name__}: {e}")

        # The RSS baseline comes after a first round of the same mix at full concurrency, which
        # grows what is meant to grow once (the KV pool's committed slabs, connection threads,
        # allocator arenas); what the load may not do is keep growing with the requests.
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(one, make_plan(100)))
        wait_for(lambda: s.metrics()["silica_active_sequences"] == 0)
        rss_before = s.rss_kib()
        kv_before = s.metrics()["silica_kv_committed_bytes"]
        counts.clear()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(one, plan))

        print("requests by kind and status:", dict(sorted(counts.items())))
        settled = wait_for(lambda: s.metrics()["silica_active_sequences"] == 0 and s.metrics()["silica_running_requests"] == 0
                           and s.metrics()["silica_queue_length"] == 0, timeout=30)
        m = s.metrics()
        if not settled:
            failures.append(f"sequences still active after the load: {m}")
        if m["silica_kv_sequence_blocks"] != 0:
            failures.append(f"KV blocks still held by sequences after the load: {m['silica_kv_sequence_blocks']}")
        fivexx = {k: v for k, v in m.items() if k.startswith("silica_requests_total") and 'status="5' in k and 'status="503"' not in k}
        if fivexx:
            failures.append(f"5xx answers: {fivexx}")
        rss_after = s.rss_kib()
        print(f"RSS before {rss_before} KiB, after {rss_after} KiB; KV pool committed {kv_before / 1024:.0f} -> "
              f"{m['silica_kv_committed_bytes'] / 1024:.0f} KiB; cached prompt tokens {m['silica_prompt_tokens_cached_total']:.0f}")
        if rss_after > rss_before * 1.05:
            failures.append(f"RSS grew from {rss_before} to {rss_after} KiB")
        if m["silica_prompt_tokens_cached_total"] <= 0:
            failures.append("the shared system prompt was never taken from the prefix cache")
        if s.stop() != 0:
            failures.append("exit status on SIGTERM was not 0")

    for f in failures[:20]:
        print("FAIL:", f, file=sys.stderr)
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print(f"load test passed: {args.requests} requests from {args.clients} clients")
    return 0


if __name__ == "__main__":
    sys.exit(main())

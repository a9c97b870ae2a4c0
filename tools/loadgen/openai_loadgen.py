#!/usr/bin/env python3
"""A load generator for any OpenAI-compatible server (silica-server, llama.cpp's llama-server, vLLM).

N concurrent clients each send streaming requests back to back (fixed prompt, fixed max_tokens,
greedy) for a fixed number of requests; reported per N: request throughput, aggregate output
tokens/s, time to first token (TTFT) and inter-token latency (ITL) p50/p99, and errors. Standard
library only (asyncio, raw HTTP/1.1 with chunked transfer decoding).

  tools/loadgen/openai_loadgen.py --url http://127.0.0.1:8080 --concurrency 1,2,4,8,16 \\
      --prompt-tokens 128 --max-tokens 64 --requests 4 [--endpoint completions|chat] [--json out.json]

--probe N: with N-1 streams running, one more request arrives (5 times, median); its TTFT is compared with
its own prefill time (TTFT of the same request alone) plus two decode steps (the running streams'
median ITL).
"""
import argparse
import asyncio
import json
import statistics
import sys
import time
from urllib.parse import urlparse

WORDS = ("the jury said that the city of atlanta had a new plan for the schools and the people of the "
         "county were told about it in the morning paper before the election").split()


def prompt_text(n_words, salt):
    # Different per client (salt) so a prefix cache cannot serve one client from another's prompt.
    words = [WORDS[(i * 7 + salt * 13) % len(WORDS)] for i in range(n_words)]
    return f"Report {salt}: " + " ".join(words)


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


async def read_chunked(reader):
    """Yields the body bytes of a chunked (or identity) HTTP response as they arrive."""
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    yield status
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await reader.readline()
            if not size_line:
                return
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await reader.readexactly(size)
            await reader.readline()
            yield data
    else:
        length = int(headers.get("content-length", "-1"))
        data = await (reader.readexactly(length) if length >= 0 else reader.read())
        yield data


async def one_request(args, body):
    """(ttft seconds or None, [chunk arrival times], output tokens, error string or None)."""
    u = urlparse(args.url)
    path = "/v1/chat/completions" if args.endpoint == "chat" else "/v1/completions"
    payload = json.dumps(body).encode()
    headers = [f"POST {path} HTTP/1.1", f"Host: {u.hostname}", "Content-Type: application/json",
               f"Content-Length: {len(payload)}", "Connection: close"]
    if args.api_key:
        headers.append(f"Authorization: Bearer {args.api_key}")
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(u.hostname, u.port or 80)
    except OSError as e:
        return None, [], 0, f"connect: {e}"
    writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + payload)
    await writer.drain()
    times, tokens, usage_tokens, error, buffer = [], 0, None, None, b""
    body_iter = read_chunked(reader)
    try:
        status = await body_iter.__anext__()
        async for data in body_iter:
            if status != 200:
                buffer += data
                continue
            buffer += data
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if not line.startswith(b"data: "):
                        continue
                    d = line[6:]
                    if d == b"[DONE]":
                        continue
                    j = json.loads(d)
                    if "error" in j:
                        error = j["error"].get("message", "error")
                        continue
                    if j.get("usage"):
                        usage_tokens = j["usage"].get("completion_tokens")
                    for c in j.get("choices", []):
                        piece = c.get("text") if args.endpoint != "chat" else (c.get("delta") or {}).get("content")
                        if piece:
                            times.append(time.perf_counter())
                            tokens += 1
        if status != 200:
            error = f"HTTP {status}: {buffer[:200].decode(errors='replace')}"
    except (asyncio.IncompleteReadError, ConnectionError, ValueError) as e:
        error = f"{type(e).__name__}: {e}"
    finally:
        writer.close()
    ttft = times[0] - start if times else None
    return ttft, times, usage_tokens if usage_tokens is not None else tokens, error


def request_body(args, salt):
    body = {"max_tokens": args.max_tokens, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    if args.model:
        body["model"] = args.model
    if args.endpoint == "chat":
        body["messages"] = [{"role": "user", "content": prompt_text(args.prompt_tokens, salt)}]
    else:
        body["prompt"] = prompt_text(args.prompt_tokens, salt)
    if args.ignore_eos:
        body["ignore_eos"] = True  # llama-server: keep going to max_tokens
    return body


async def run_level(args, n):
    ttfts, itls, tokens, errors = [], [], 0, []

    async def client(c):
        nonlocal tokens
        for r in range(args.requests):
            ttft, times, n_tokens, error = await one_request(args, request_body(args, c * 1000 + r))
            if error:
                errors.append(error)
                continue
            if ttft is not None:
                ttfts.append(ttft)
            itls.extend(b - a for a, b in zip(times, times[1:]))
            tokens += n_tokens

    start = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(n)))
    wall = time.perf_counter() - start
    return {
        "concurrency": n,
        "requests": n * args.requests - len(errors),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_s": wall,
        "requests_per_s": (n * args.requests - len(errors)) / wall,
        "output_tokens_per_s": tokens / wall,
        "ttft_p50_ms": 1000 * percentile(ttfts, 50),
        "ttft_p99_ms": 1000 * percentile(ttfts, 99),
        "itl_p50_ms": 1000 * percentile(itls, 50),
        "itl_p99_ms": 1000 * percentile(itls, 99),
    }


async def probe(args, n_running):
    """TTFT of a request arriving while n_running streams run, against its prefill alone + 2 steps."""
    alone = [(await one_request(args, request_body(args, 999_000 + i)))[0] for i in range(3)]
    prefill = statistics.median(t for t in alone if t is not None)
    long_args = argparse.Namespace(**vars(args))
    long_args.max_tokens = 16 * args.max_tokens
    running = [asyncio.ensure_future(one_request(long_args, request_body(long_args, 500_000 + i))) for i in range(n_running)]
    await asyncio.sleep(2.0)  # all of them decoding
    probes, error = [], None
    for i in range(5):  # one at a time, while the others still run; the median is reported
        t, _, _, e = await one_request(args, request_body(args, 777_777 + i))
        error = error or e
        if t is not None:
            probes.append(t)
        await asyncio.sleep(0.2)
    ttft = statistics.median(probes) if probes else None
    results = await asyncio.gather(*running)
    itls = [b - a for _, times, _, _ in results for a, b in zip(times, times[1:])]
    step = statistics.median(itls)
    return {"running_streams": n_running, "ttft_ms": 1000 * ttft if ttft else None, "probes": len(probes), "prefill_alone_ms": 1000 * prefill,
            "decode_step_ms": 1000 * step, "bound_ms": 1000 * (prefill + 2 * step),
            "within_bound": ttft is not None and ttft <= prefill + 2 * step, "error": error}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--api-key", default="")
    p.add_argument("--model", default="")
    p.add_argument("--endpoint", choices=["completions", "chat"], default="completions")
    p.add_argument("--concurrency", default="1,2,4,8,16")
    p.add_argument("--requests", type=int, default=4, help="requests per client at each level")
    p.add_argument("--prompt-tokens", type=int, default=128, help="prompt length in words (about tokens)")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--ignore-eos", action="store_true", help="send llama-server's ignore_eos")
    p.add_argument("--warmup", type=int, default=1, help="requests before measuring")
    p.add_argument("--probe", type=int, default=0, help="also measure a request arriving while N-1 streams run")
    p.add_argument("--label", default="")
    p.add_argument("--json", help="append one JSON object per level to this file")
    args = p.parse_args()

    async def run():
        for i in range(args.warmup):
            await one_request(args, request_body(args, 424242 + i))
        rows = []
        for n in [int(x) for x in args.concurrency.split(",")]:
            row = await run_level(args, n)
            row["label"] = args.label
            rows.append(row)
            print(f"{args.label:>10} N={n:<3} {row['output_tokens_per_s']:8.1f} tok/s  {row['requests_per_s']:6.2f} req/s  "
                  f"TTFT p50/p99 {row['ttft_p50_ms']:7.1f}/{row['ttft_p99_ms']:7.1f} ms  "
                  f"ITL p50/p99 {row['itl_p50_ms']:6.1f}/{row['itl_p99_ms']:6.1f} ms  errors {row['errors']}", flush=True)
        if args.probe:
            pr = await probe(args, args.probe - 1)
            pr["label"] = args.label
            rows.append(pr)
            print(f"{args.label:>10} probe with {pr['running_streams']} running: TTFT {pr['ttft_ms']:.1f} ms, "
                  f"bound {pr['bound_ms']:.1f} ms (prefill alone {pr['prefill_alone_ms']:.1f} + 2 x step "
                  f"{pr['decode_step_ms']:.1f}) -> {'within' if pr['within_bound'] else 'OVER'}", flush=True)
        if args.json:
            with open(args.json, "a") as f:
                for row in rows:
                    f.write(json.dumps(row) + "\n")
        return 0 if all(r.get("errors", 0) == 0 for r in rows) else 1

    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()

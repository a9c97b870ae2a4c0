"""silica-server --tp under mpirun (2 ranks): rank 0 serves, rank 1's engine follows its calls.
Concurrent greedy requests and a streamed completion get exactly the text a one-process server
gives on the same file; greedy n = 2 choices (a forked sequence) both equal the split server's own
n = 1 text, and a seeded, sampled n = 2 request gives the same text twice.
(The ranks' partial sums round differently from one process's sums, and this random model's
nearly flat distribution turns last-bit differences into other tokens after some steps: forks and
samples are compared within the split server, not with one process.)
SIGTERM stops every rank cleanly (mpirun forwards it to every rank, then exits with 1 whatever the ranks did: the check is that
rank 0 drained and every rank ended on its own, with no rank reported killed).

usage: server_tp_test.py MPIRUN SILICA_SERVER SYNTH"""
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "server"))
from server_harness import Server  # noqa: E402

mpirun, server_bin, synth = sys.argv[1:4]
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAILED: ") + what, flush=True)
    if not ok:
        failures.append(what)


def answers(server):
    """Text of 3 concurrent greedy completions, of an n = 2 request, and of a streamed chat."""
    prompts = ["The old lighthouse keeper", "Once upon a time, in a city", "Numbers: 1, 2, 3,"]
    texts = [None] * len(prompts)

    def one(i):
        status, body = server.post_json("/v1/completions", {"prompt": prompts[i], "max_tokens": 16,
                                                            "temperature": 0})
        texts[i] = body["choices"][0]["text"] if status == 200 else f"HTTP {status}"

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    choices = []
    for n in (1, 2):
        status, body = server.post_json("/v1/completions", {"prompt": "Two roads", "max_tokens": 12, "n": n,
                                                            "temperature": 0})
        choices += [c["text"] for c in body["choices"]] if status == 200 else [f"HTTP {status}"]
    events, _ = server.stream("/v1/completions", {"prompt": "A streamed answer:", "max_tokens": 12,
                                                  "temperature": 0, "stream": True})
    streamed = "".join(e["choices"][0]["text"] for e in events if e != "[DONE]" and e.get("choices"))
    return texts, choices, streamed


def sampled_choices(server):
    status, body = server.post_json("/v1/completions", {"prompt": "Two roads", "max_tokens": 12, "n": 2,
                                                        "temperature": 0.8, "seed": 5})
    return [c["text"] for c in body["choices"]] if status == 200 else [f"HTTP {status}"]


with tempfile.TemporaryDirectory() as tmp:
    model = os.path.join(tmp, "gpt-oss-tiny.gguf")
    subprocess.run([synth, "--arch", "gpt-oss", "--preset", "tiny", "--wtype", "q8_0", "-q", "-o", model], check=True)
    one_process = Server(server_bin, model, "-t", "1")
    expected = answers(one_process)
    one_process.stop()

    launcher = [mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "2"]
    split = Server(server_bin, model, "-t", "1", "--tp", launcher=launcher)
    got = answers(split)
    check(got[0] == expected[0], f"3 concurrent greedy completions: {got[0]!r}")
    check(len(got[1]) == 3 and got[1][0] == got[1][1] == got[1][2], f"n = 1 and n = 2 greedy choices: {got[1]!r}")
    first, again = sampled_choices(split), sampled_choices(split)
    check(first == again and len(first) == 2, f"n = 2 seeded choices, twice: {first!r} {again!r}")
    check(got[2] == expected[2] and got[2] != "", f"streamed completion: {got[2]!r}")
    split.stop()
    log = "\n".join(split.stderr_lines)
    check("silica-server: stopped" in log and "signal" not in log.replace("Terminated", ""),
          "SIGTERM: rank 0 drained and stopped, no rank killed")

sys.exit(1 if failures else 0)

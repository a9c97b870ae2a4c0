#!/usr/bin/env python3
"""Runs a command and checks its exit code and, optionally, the start of its stderr.

usage: expect_exit.py --exit N [--stderr-prefix TEXT] -- COMMAND [ARGS...]
Exit 0 when the expectations hold, 1 (with the reason on stderr) otherwise.
"""
import argparse
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exit", type=int, required=True, dest="expected_exit")
    parser.add_argument("--stderr-prefix", default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    result = subprocess.run(command, capture_output=True, timeout=120)
    stderr = result.stderr.decode("utf-8", "replace")
    problems = []
    if result.returncode != args.expected_exit:
        problems.append(f"exit code {result.returncode}, expected {args.expected_exit}")
    if args.stderr_prefix is not None:
        if not stderr.startswith(args.stderr_prefix):
            problems.append(f"stderr does not start with {args.stderr_prefix!r}")
        # An error is one line (the usage hint CLI11 may add is not printed by our apps).
        if args.expected_exit != 0 and stderr.count("\n") > 1:
            problems.append("stderr has more than one line")
    if problems:
        print("command:", " ".join(command), file=sys.stderr)
        print("stdout:", result.stdout.decode("utf-8", "replace")[:2000], file=sys.stderr)
        print("stderr:", stderr[:2000], file=sys.stderr)
        for p in problems:
            print("FAILED:", p, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/bin/sh
# Installs the pinned client packages (package-lock.json) for the Node tests of silica-server.
# Exits 77 (CTest: skipped) when npm's registry cannot be reached from this machine, or its TLS
# certificate cannot be checked (a sandbox behind an intercepting proxy without its CA); the Node
# tests then skip too, saying why. Any other npm failure is a failure.
out=$(npm ci --no-audit --no-fund --loglevel=error 2>&1) && exit 0
echo "$out"
if echo "$out" | grep -qiE "ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|CERT_|certificate"; then
  echo "npm's registry cannot be reached from here: the OpenAI SDK and chat page tests are skipped"
  exit 77
fi
exit 1

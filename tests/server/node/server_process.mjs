// Starts silica-server on a free port for the Node tests and stops it with SIGTERM.
import { spawn } from "node:child_process";

export async function startServer(binary, model, args = []) {
  const proc = spawn(binary, ["--model", model, "--port", "0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const port = await new Promise((resolve, reject) => {
    proc.stderr.on("data", (d) => {
      stderr += d.toString();
      const m = stderr.match(/listening on http:\/\/[\d.]+:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (code) => reject(new Error(`silica-server exited (${code}): ${stderr}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(base + "/health")).status === 200) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    async stop() {
      const exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
      proc.kill("SIGTERM");
      return exited;
    },
  };
}

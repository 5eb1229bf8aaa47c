// Holds N idle connections through a proxy: node idle-client.mjs HOST PORT N [BATCH]
// Opens them BATCH at a time; on each sends one HTTP/1.1 request and waits for the
// response head (so the proxy's upstream connection certainly exists), then leaves it
// idle. Prints one JSON line {"ready":true,"ok":N,"failed":M,"firstError":...} when all
// are settled, then holds everything until stdin closes or a signal arrives; a line
// "status" on stdin prints {"open":N} (how many of the held connections are still open).
import net from "node:net";

const [host, portText, countText, batchText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const batch = Number(batchText || 500);
const perConnTimeoutMs = 10_000;
const sockets = [];
let ok = 0, failed = 0, firstError = null;

function one() {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    sockets.push(s);
    let got = "";
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        failed++;
        firstError ??= String(err.message || err);
        s.destroy();
      } else ok++;
      resolve();
    };
    const timer = setTimeout(() => finish(new Error("no response within 10s")), perConnTimeoutMs);
    s.setNoDelay(true);
    s.on("connect", () => s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    s.on("data", (d) => {
      got += d.toString("latin1");
      if (got.includes("\r\n\r\n")) {
        if (/^HTTP\/1\.1 200/.test(got)) finish();
        else finish(new Error("bad response: " + got.slice(0, 40)));
      }
    });
    s.on("error", (e) => finish(e));
    s.on("close", () => finish(new Error("closed before the response")));
  });
}

for (let i = 0; i < count; i += batch) {
  const n = Math.min(batch, count - i);
  await Promise.all(Array.from({ length: n }, one));
}
process.stdout.write(JSON.stringify({ ready: true, ok, failed, firstError }) + "\n");

let buffered = "";
process.stdin.on("data", (d) => {
  buffered += d;
  if (buffered.includes("status\n")) {
    buffered = "";
    const open = sockets.filter((s) => !s.destroyed && s.readyState === "open").length;
    process.stdout.write(JSON.stringify({ open }) + "\n");
  }
});
const quit = () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
};
process.stdin.on("end", quit);
process.stdin.on("close", quit);
process.on("SIGTERM", quit);
process.on("SIGINT", quit);

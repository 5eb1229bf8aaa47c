/**
 * A small Chrome DevTools Protocol driver for tests: starts Debian's headless
 * `chromium`, opens a page, navigates, reads the DOM, types and clicks with real input
 * events, collects console errors and uncaught exceptions, and takes screenshots. It
 * speaks CDP over the global WebSocket (Deno and Bun both have one), so no npm package
 * (puppeteer, playwright) is needed. Every browser is killed and its profile directory
 * removed by `closeBrowsers()`.
 * Protocol reference: https://chromedevtools.github.io/devtools-protocol/
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where Debian's package puts it; `CHROMIUM` overrides. */
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const COMMAND_TIMEOUT_MS = 20_000;
const START_TIMEOUT_MS = 30_000;

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
}

type Json = Record<string, unknown>;
type EventHandler = (params: Json, sessionId: string | undefined) => void;

/** One WebSocket to the browser; page sessions share it (flat mode: a `sessionId` per message). */
class Connection {
  readonly #ws: WebSocket;
  #next = 1;
  readonly #pending = new Map<number, { resolve(v: Json): void; reject(e: Error): void; method: string }>();
  readonly #handlers = new Map<string, Set<EventHandler>>();

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (m) => this.#receive(JSON.parse(String(m.data)));
    ws.onclose = () => {
      for (const p of this.#pending.values()) p.reject(new Error(`${p.method}: the browser closed the connection`));
      this.#pending.clear();
    };
  }

  #receive(msg: { id?: number; method?: string; params?: Json; result?: Json; error?: Json; sessionId?: string }) {
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (!p) return;
      if (msg.error) p.reject(new Error(`${p.method}: ${JSON.stringify(msg.error)}`));
      else p.resolve(msg.result ?? {});
      return;
    }
    for (const fn of this.#handlers.get(msg.method ?? "") ?? []) fn(msg.params ?? {}, msg.sessionId);
  }

  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    const id = this.#next++;
    return new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no answer from chromium within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.#pending.set(id, {
        method,
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  on(method: string, fn: EventHandler): () => void {
    const set = this.#handlers.get(method) ?? new Set();
    this.#handlers.set(method, set);
    set.add(fn);
    return () => set.delete(fn);
  }

  close(): void {
    this.#ws.close();
  }
}

/** Text of a Runtime.RemoteObject as a console line would show it. */
function remoteText(arg: Json): string {
  if (arg.value !== undefined) return typeof arg.value === "string" ? arg.value : JSON.stringify(arg.value);
  return String(arg.description ?? arg.type);
}

export class Page {
  readonly #conn: Connection;
  readonly #session: string;
  /** Console errors, uncaught exceptions and browser log errors (CSP, network), in order. */
  readonly errors: string[] = [];

  constructor(conn: Connection, session: string) {
    this.#conn = conn;
    this.#session = session;
    const mine = (fn: (p: Json) => void): EventHandler => (p, s) => s === session && fn(p);
    conn.on(
      "Runtime.consoleAPICalled",
      mine((p) => {
        if (p.type === "error" || p.type === "assert") {
          this.errors.push(`console.${p.type}: ${(p.args as Json[]).map(remoteText).join(" ")}`);
        }
      }),
    );
    conn.on(
      "Runtime.exceptionThrown",
      mine((p) => {
        const d = p.exceptionDetails as Json;
        this.errors.push(`exception: ${remoteText((d.exception as Json | undefined) ?? { description: d.text })}`);
      }),
    );
    conn.on(
      "Log.entryAdded",
      mine((p) => {
        const e = p.entry as Json;
        if (e.level === "error") this.errors.push(`log (${e.source}): ${e.text}${e.url ? ` ${e.url}` : ""}`);
      }),
    );
  }

  send(method: string, params: Json = {}): Promise<Json> {
    return this.#conn.send(method, params, this.#session);
  }

  /** Loads `url` and waits for its load event. */
  async navigate(url: string): Promise<void> {
    let stop = () => {};
    const loaded = new Promise<void>((resolve) => {
      stop = this.#conn.on("Page.loadEventFired", (_p, s) => s === this.#session && resolve());
    });
    try {
      const nav = await this.send("Page.navigate", { url });
      if (nav.errorText) throw new Error(`cannot load ${url}: ${nav.errorText}`);
      await loaded;
    } finally {
      stop();
    }
  }

  /** The value of a JS expression in the page (awaited when it is a promise); throws what it throws. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    const d = r.exceptionDetails as Json | undefined;
    if (d) throw new Error(`in the page: ${remoteText((d.exception as Json | undefined) ?? { description: d.text })}`);
    return (r.result as Json).value as T;
  }

  /** The centre of the first element matching `selector`, scrolled into view. */
  async #centre(selector: string): Promise<{ x: number; y: number }> {
    const at = await this.evaluate<{ x: number; y: number } | null>(`(() => {
      const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return null;
      e.scrollIntoView({ block: "center" });
      const r = e.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    })()`);
    if (!at) throw new Error(`no element matches ${selector}`);
    return at;
  }

  /** A real left click (mouse events) on the first element matching `selector`. */
  async click(selector: string): Promise<void> {
    const { x, y } = await this.#centre(selector);
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", { type, x, y, button: "left", clickCount: 1 });
    }
  }

  /** Focuses the element by clicking it and types `text` into it. */
  async type(selector: string, text: string): Promise<void> {
    await this.click(selector);
    await this.send("Input.insertText", { text });
  }

  /** A PNG of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(r.data as string), (ch) => ch.charCodeAt(0));
  }
}

export interface Browser {
  /** A new tab of `width` x `height` CSS pixels, with Runtime, Log and Page events on. */
  page(size?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

const browsers = new Set<Browser>();

/** Reads stderr until chromium says where DevTools listens. */
function devtoolsUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = "";
    const fail = (why: string) => reject(new Error(`chromium did not start: ${why}\n${err.slice(-2000)}`));
    const timer = setTimeout(() => fail(`no DevTools address within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.stderr!.on("data", (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("error", (e) => (clearTimeout(timer), fail(e.message)));
    child.on("exit", (code) => (clearTimeout(timer), fail(`it exited with ${code}`)));
  });
}

/** Kills chromium's whole process group (renderers, zygote), or the browser alone if that fails. */
function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
  return Promise.race([exited, new Promise<void>((r) => setTimeout(r, 5000))]);
}

/** Starts headless chromium with a fresh profile. */
export async function launchChromium(): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), "vane-chromium-"));
  const child = spawn(CHROMIUM, [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--remote-debugging-port=0",
    `--user-data-dir=${dir}`,
    "about:blank",
  ], { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let conn: Connection | null = null;
  const browser: Browser = {
    page: async (size = { width: 1200, height: 800 }) => {
      const { targetId } = await conn!.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await conn!.send("Target.attachToTarget", { targetId, flatten: true });
      const page = new Page(conn!, sessionId as string);
      await Promise.all(["Runtime.enable", "Log.enable", "Page.enable"].map((m) => page.send(m)));
      await page.send("Emulation.setDeviceMetricsOverride", { ...size, deviceScaleFactor: 1, mobile: false });
      return page;
    },
    close: async () => {
      browsers.delete(browser);
      conn?.close();
      await kill(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  browsers.add(browser);
  try {
    const ws = new WebSocket(await devtoolsUrl(child));
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("cannot open the DevTools WebSocket"));
    });
    conn = new Connection(ws);
  } catch (err) {
    await browser.close();
    throw err;
  }
  return browser;
}

export async function closeBrowsers(): Promise<void> {
  await Promise.all([...browsers].map((b) => b.close()));
}

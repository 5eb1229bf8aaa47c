/**
 * The dashboard (`GET /` on the status endpoint) in a real headless Chromium, driven
 * over the DevTools protocol (test/helpers/cdp.ts), against vane `--workers 2` with
 * real backends and an admin token: the page loads with no console error and shows the
 * listeners, pools and targets; a backend that dies shows as down (and as a health
 * event from /events) within one health interval and a margin; a drain without the
 * token shows the API's refusal, and with the token typed in, drains (the API says so)
 * and the page shows it. Without a token set, the page drains and undrains from
 * loopback (its own Origin passes the guard). Both runtimes; without chromium the
 * tests are skipped and the output says so.
 *
 * With VANE_DASHBOARD_SCREENSHOT=FILE it also writes a PNG of the page with some
 * traffic to FILE: that is how docs/dashboard.png is made.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdminPool } from "../../src/control/admin-routes.ts";
import { chromiumMissing, closeBrowsers, launchChromium, type Page } from "../helpers/cdp.ts";
import { type Backend, curl, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { freePort } from "../helpers/net.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { serving, statusOf } from "../helpers/status.ts";
import { waitFor } from "../helpers/wait.ts";

const TOKEN = "dashboard-test-token";
const HEALTH_INTERVAL_MS = 1000;
const HEALTH_TIMEOUT_MS = 500;
/** A down verdict takes one failed check (fall 1): the interval, the check's timeout, then a margin for a loaded machine. */
const DOWN_WITHIN_MS = HEALTH_INTERVAL_MS + HEALTH_TIMEOUT_MS + 3000;

/** Token files' directories, made by the tests that run (none when they are skipped). */
const dirs: string[] = [];
afterEach(async () => {
  await closeBrowsers();
  killAll();
  await stopAllHttp();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const missing = chromiumMissing();
// Said on the test output, so a machine without chromium does not pass silently.
if (missing !== null) console.warn(`SKIPPED test/integration/dashboard.test.ts: ${missing}`);

function named(name: string): Promise<Backend> {
  return startBackend((_req, res) => res.end(name));
}

/** vane --workers 2: pool `default` (`*`) of `web`, pool `api.test` of `api`; its listener and status ports. */
async function startVane(
  web: Backend[],
  api: Backend[],
  { token = true } = {},
): Promise<{ port: number; status: number }> {
  const [port, status] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "vane-dashboard-"));
  dirs.push(dir);
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const list = (bs: Backend[]) => bs.map((b) => `127.0.0.1:${b.port}`).join(",");
  spawnVane([
    ...["--listen", `http://127.0.0.1:${port}`, "--route", `*=${list(web)}`, "--route", `api.test=${list(api)}`],
    ...["--workers", "2", "--status", `127.0.0.1:${status}`, ...(token ? ["--admin-token-file", tokenFile] : [])],
    ...["--health", "tcp", "--health-interval", `${HEALTH_INTERVAL_MS}ms`],
    ...["--health-timeout", `${HEALTH_TIMEOUT_MS}ms`, "--fall", "1", "--rise", "1"],
  ], { VANE_ADMIN_TOKEN: "" });
  await serving(status, 2);
  return { port, status };
}

async function pools(status: number): Promise<Record<string, AdminPool>> {
  return ((await (await fetch(`http://127.0.0.1:${status}/pools`)).json()) as { pools: Record<string, AdminPool> })
    .pools;
}

/** What a target's row shows as its state, or null when there is no such row. */
function rowState(page: Page, target: string): Promise<string | null> {
  return page.evaluate<string | null>(
    `document.querySelector('tr[data-target="${target}"] [data-state]')?.getAttribute("data-state") ?? null`,
  );
}

const text = (page: Page, selector: string) =>
  page.evaluate<string>(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? ""`);

/**
 * `n` requests to each host, one connection each, so the counters and rates move; by
 * curl, since Deno's fetch does not send a Host of our choosing.
 */
async function traffic(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (const host of ["www.test", "api.test"]) await curl(["-H", `Host: ${host}`, `http://127.0.0.1:${port}/`]);
  }
}

describe.skipIf(missing !== null)("the dashboard in headless chromium", () => {
  it(
    "loads clean, shows a dead target down within a health interval, refuses a drain without the token and drains with it",
    async () => {
      const [a, b, c, d] = [await named("a"), await named("b"), await named("c"), await named("d")];
      const v = await startVane([a, b, d], [c]);
      const [ta, tb, tc, td] = [a, b, c, d].map((x) => `127.0.0.1:${x.port}`);
      await traffic(v.port, 3);
      // Each target counts the responses it gave (summed over both workers): c alone serves api.test.
      const counted = (await statusOf(v.status)).pools["api.test"].targets[0];
      expect([counted.requests, counted.errors]).toEqual([3, 0]);

      const browser = await launchChromium();
      const page = await browser.page();
      await page.navigate(`http://127.0.0.1:${v.status}/`);
      await waitFor("four target rows, all up, and the event stream open", async () => {
        const states = await Promise.all([ta, tb, tc, td].map((t) => rowState(page, t)));
        return states.every((s) => s === "up") && (await text(page, "#live")) === "live";
      }, 15_000);
      expect(await page.evaluate("[...document.querySelectorAll('section.pool')].map((s) => s.dataset.pool)"))
        .toEqual(["default", "api.test"]);
      expect(await page.evaluate("document.querySelectorAll('section.pool svg.chart').length")).toBe(2);
      // c's latency line: drawn once a read has measured it.
      await waitFor("a latency line in api.test's chart", async () => {
        return await page.evaluate<number>(
          `document.querySelectorAll('section.pool[data-pool="api.test"] svg.chart polyline').length`,
        ) === 1;
      });
      expect(await text(page, "#listeners")).toContain(`http://127.0.0.1:${v.port}`);
      expect(await text(page, "#meta")).toContain("2 processes");
      expect(await text(page, `tr[data-target="${tc}"] td.requests`)).toBe("3");
      expect(page.errors).toEqual([]);

      // a dies: down on the page (from /events, which the events list alone shows) within the bound.
      await new Promise<void>((done) => {
        a.server.closeAllConnections();
        a.server.close(() => done());
      });
      await waitFor("a shown down", async () => (await rowState(page, ta)) === "down", DOWN_WITHIN_MS);
      expect(await text(page, "#events")).toMatch(new RegExp(`health default ${ta.replace(/\./g, "\\.")} down`));
      expect(await rowState(page, tb)).toBe("up");

      // Without the token: the API's refusal on the page, and nothing drained.
      await page.click(`tr[data-target="${tb}"] button.drain`);
      await waitFor("the refusal shown", async () => (await text(page, "#notice")).includes("refused (401)"));
      expect(await text(page, "#notice")).toContain("an admin token is required");
      expect((await pools(v.status)).default.targets.find((t) => t.target === tb)!.draining).toBe(false);

      // The token typed once, then drain: the API says draining, and so does the page.
      await page.type("#token", TOKEN);
      await page.click('#token-form button[type="submit"]');
      expect(await text(page, "#token-state")).toBe("token set for this tab");
      expect(await page.evaluate("document.getElementById('token').value")).toBe("");
      await page.click(`tr[data-target="${tb}"] button.drain`);
      await waitFor("b draining in the API", async () => {
        return (await pools(v.status)).default.targets.find((t) => t.target === tb)!.draining;
      });
      await waitFor("b draining on the page", async () => {
        return ["draining", "drained"].includes((await rowState(page, tb)) ?? "");
      });
      expect(await page.evaluate(`document.querySelector('tr[data-target="${tb}"] button.drain').textContent`))
        .toBe("undrain");
      expect(await text(page, "#notice")).toContain(`drain default ${tb}: done`);
      expect(await text(page, "#events")).toMatch(/admin drain default .* by 127\.0\.0\.1 \(token\)/);

      // The one error allowed: the browser's own log line for the 401 of the refused drain.
      const others = page.errors.filter((e) => !/status of 401/.test(e));
      expect(others).toEqual([]);
      expect(page.errors.length).toBeLessThanOrEqual(1);

      const shot = process.env.VANE_DASHBOARD_SCREENSHOT;
      if (shot) {
        // Some reads' worth of latency lines and request rates to show: a bounded run of requests.
        const until = Date.now() + 40_000;
        while (Date.now() < until) await traffic(v.port, 5);
        writeFileSync(shot, await page.screenshot());
      }
    },
    120_000,
  );

  it("drains and undrains from loopback without a token, when none is set (the page's own Origin passes)", async () => {
    const [a, c] = [await named("a"), await named("c")];
    const v = await startVane([a], [c], { token: false });
    const ta = `127.0.0.1:${a.port}`;
    const draining = async () => (await pools(v.status)).default.targets[0].draining;
    const browser = await launchChromium();
    const page = await browser.page();
    await page.navigate(`http://127.0.0.1:${v.status}/`);
    await waitFor("a shown up", async () => (await rowState(page, ta)) === "up", 15_000);
    const button = `tr[data-target="${ta}"] button.drain`;

    await page.click(button);
    await waitFor("a draining in the API", draining);
    await waitFor("the undrain button", async () => (await text(page, button)) === "undrain");
    await page.click(button);
    await waitFor("a back in the API", async () => !(await draining()));
    await waitFor("a shown up again", async () => (await rowState(page, ta)) === "up");
    expect(await text(page, "#token-state")).toBe("no token");
    expect(page.errors).toEqual([]);
  }, 60_000);
});

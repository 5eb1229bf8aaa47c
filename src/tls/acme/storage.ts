/**
 * What ACME keeps on disk under the state directory (`--state-dir`): the account key
 * per CA, and per name the certificate chain and its key, so a restart serves the
 * stored certificate and orders nothing while it is good. Directories are 0700 and
 * files 0600 (they hold private keys), written whole (a temp file renamed over).
 *
 * Layout: STATE/acme/CA/account.key, STATE/acme/CA/certs/NAME/{cert.pem,key.pem},
 * where CA is the directory URL's host and path made a file name.
 */
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import type { TlsCertificate } from "../../runtime/types.ts";
import { newKeyPem } from "./keys.ts";

/**
 * The default state directory: the one systemd made for the unit (StateDirectory=vane
 * sets $STATE_DIRECTORY to /var/lib/vane; the unit's user has no home it may write),
 * else $XDG_DATA_HOME/vane, else ~/.local/share/vane (the XDG base directory default).
 */
export function defaultStateDir(env: Record<string, string | undefined>): string {
  // systemd lists one path per StateDirectory= entry, separated by colons.
  if (env.STATE_DIRECTORY) return env.STATE_DIRECTORY.split(":")[0];
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, "vane");
  return join(env.HOME ?? "/", ".local", "share", "vane");
}

/** The CA's directory URL as one file name: `acme-v02.api.letsencrypt.org-directory`. */
export function caFolder(directoryUrl: string): string {
  const u = new URL(directoryUrl);
  return `${u.host}${u.pathname}`.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/-+$/, "");
}

export class AcmeStorage {
  readonly #dir: string;

  constructor(stateDir: string, directoryUrl: string) {
    this.#dir = join(stateDir, "acme", caFolder(directoryUrl));
  }

  get dir(): string {
    return this.#dir;
  }

  /** The account key (PKCS#8 PEM), made and stored on first use. */
  async accountKey(): Promise<string> {
    const path = join(this.#dir, "account.key");
    const stored = await readOrNull(path);
    if (stored) return stored;
    const pem = newKeyPem();
    await this.#write(path, pem);
    return pem;
  }

  async loadCert(name: string): Promise<TlsCertificate | null> {
    const dir = join(this.#dir, "certs", name);
    const [cert, key] = await Promise.all([readOrNull(join(dir, "cert.pem")), readOrNull(join(dir, "key.pem"))]);
    return cert && key ? { cert, key } : null;
  }

  async saveCert(name: string, c: TlsCertificate): Promise<void> {
    const dir = join(this.#dir, "certs", name);
    // The key first: a cert.pem is never beside a key that is not its own for long.
    await this.#write(join(dir, "key.pem"), c.key);
    await this.#write(join(dir, "cert.pem"), c.cert);
  }

  async #write(path: string, text: string): Promise<void> {
    const dir = path.slice(0, path.lastIndexOf("/"));
    await mkdirPrivate(dir);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  }
}

/** Makes `dir` and its missing parents, each 0700. */
async function mkdirPrivate(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  // mkdir returns the first directory it made: tighten each from there down (umask aside).
  let d = dir;
  while (d.length >= first.length) {
    await chmod(d, 0o700);
    d = d.slice(0, d.lastIndexOf("/"));
  }
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return null;
    throw err;
  }
}

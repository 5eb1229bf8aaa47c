/**
 * An etcd client made from a cluster's settings (model.ts EtcdClusterConfig): reads the
 * password file and the PEM files it names, so that a missing file is said once, named
 * as the operator wrote it (`--etcd-ca`, or `etcd.ca` in a config file).
 */
import { readFile } from "node:fs/promises";
import { EtcdClient } from "./client.ts";
import type { EtcdClusterConfig } from "../model.ts";
import { errorText } from "../../errors/mod.ts";

/** How errors name each file setting. */
export interface EtcdFileNames {
  passwordFile: string;
  ca: string;
  cert: string;
  key: string;
}

/** The flags' names (`--etcd ...`). */
export const FLAG_NAMES: EtcdFileNames = {
  passwordFile: "--etcd-password-file",
  ca: "--etcd-ca",
  cert: "--etcd-cert",
  key: "--etcd-key",
};

/** The config file's names (the top-level `etcd:` key). */
export const YAML_NAMES: EtcdFileNames = {
  passwordFile: "etcd.password-file",
  ca: "etcd.ca",
  cert: "etcd.cert",
  key: "etcd.key",
};

/** Makes the client; throws an Error naming the setting of a file that cannot be read. */
export async function openEtcdClient(
  spec: EtcdClusterConfig,
  names: EtcdFileNames = FLAG_NAMES,
): Promise<EtcdClient> {
  const read = async (path: string | undefined, what: string) => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      throw new Error(`${what}: cannot read ${path}: ${errorText(err)}`, { cause: err });
    }
  };
  const password = (await read(spec.passwordFile, names.passwordFile))?.split("\n")[0].trim();
  return new EtcdClient(spec.endpoints, {
    ...(spec.user !== undefined ? { user: spec.user, password: password ?? "" } : {}),
    ca: await read(spec.ca, names.ca),
    cert: await read(spec.cert, names.cert),
    key: await read(spec.key, names.key),
  });
}

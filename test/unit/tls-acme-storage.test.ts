import { describe, expect, it } from "vitest";
import { caFolder, defaultStateDir } from "../../src/tls/acme/storage.ts";

describe("defaultStateDir", () => {
  it("takes the directory systemd made for the unit (StateDirectory=) first", () => {
    // The unit runs as a DynamicUser with ProtectHome=yes: no home it may write.
    expect(defaultStateDir({ STATE_DIRECTORY: "/var/lib/vane", HOME: "/", XDG_DATA_HOME: "/x" })).toBe("/var/lib/vane");
    expect(defaultStateDir({ STATE_DIRECTORY: "/var/lib/vane:/var/lib/other" })).toBe("/var/lib/vane");
  });

  it("else $XDG_DATA_HOME/vane, else ~/.local/share/vane", () => {
    expect(defaultStateDir({ XDG_DATA_HOME: "/data", HOME: "/home/a" })).toBe("/data/vane");
    expect(defaultStateDir({ HOME: "/home/a" })).toBe("/home/a/.local/share/vane");
  });
});

describe("caFolder", () => {
  it("names a CA's state folder after its directory URL", () => {
    expect(caFolder("https://acme-v02.api.letsencrypt.org/directory")).toBe("acme-v02.api.letsencrypt.org-directory");
  });
});

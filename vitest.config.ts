import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Same bound as bunfig.toml, so both runtimes judge a slow test alike.
    testTimeout: 20000,
    hookTimeout: 20000,
  },
});

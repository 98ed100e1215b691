import { defineConfig } from "vitest/config";

// Five projects, each saying what it needs:
// - unit: nothing but Node (no python3, no engine, no network): hermetic.
// - python: differential tests against /usr/bin/python3 with python3-slugify, python3-packaging
//   and python3-unidecode (scripts/test-services.sh installs them); they fail, never skip,
//   when Python is missing.
// - types: the *.test-d.ts type tests, checked by tsc through vitest's typecheck mode.
// - integration: the real Docker engine and registries (scripts/test-services.sh).
// - podman: integration files again, against Podman's API service (scripts/test-services.sh).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          // Unit tests mirror src/: test/<folder>/<module>.test.ts.
          include: ["test/**/*.test.ts"],
          exclude: ["test/integration/**", "test/python-parity/**", "**/node_modules/**"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "python",
          include: ["test/python-parity/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "types",
          include: [],
          typecheck: {
            enabled: true,
            only: true,
            include: ["test/**/*.test-d.ts"],
            tsconfig: "./tsconfig.json",
          },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          exclude: ["test/integration/podman/**", "**/node_modules/**"],
          globalSetup: ["test/integration/global-setup.ts"],
          setupFiles: ["test/integration/setup-run.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "podman",
          // Chosen integration files, each imported by a file of the same name in
          // test/integration/podman/, run against Podman's Docker-compatible API service; the
          // tests that assert Docker-only behaviour are skipped by name (podman/excluded.mjs).
          // Not chosen: what never reaches an engine (cli-commands), the context's delivery
          // (build-context: the library's tar, the same for every engine), BuildKit (Podman has none:
          // podman-api.test.ts checks the refusal), what asserts Docker's decoding of registry
          // headers and `docker login` through the engine (credentials: credentials-api covers
          // logins on Podman), engine discovery, faults and load (engine-agnostic).
          include: ["test/integration/podman/**/*.test.ts"],
          env: { DOCKER_HOST: "unix:///run/pdu-podman/podman.sock" },
          globalSetup: ["test/integration/global-setup.ts"],
          setupFiles: ["test/integration/setup-run.ts", "test/integration/podman/setup-podman.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

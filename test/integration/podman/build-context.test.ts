// build-context.test.ts on Podman (the podman project, vitest.config.ts), less the tests excluded.mjs names.
import "../build-context.test.js";

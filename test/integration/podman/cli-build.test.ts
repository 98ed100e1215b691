// cli-build.test.ts on Podman (the podman project, vitest.config.ts), less the tests excluded.mjs names.
import "../cli/cli-build.test.js";

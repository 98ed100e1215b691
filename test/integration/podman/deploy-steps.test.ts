// deploy-steps.test.ts on Podman (the podman project, vitest.config.ts), less the tests excluded.mjs names.
import "../deploy/deploy-steps.test.js";

// deploy-docker-image.test.ts on Podman (the podman project, vitest.config.ts), less the tests excluded.mjs names.
import "../deploy/deploy-docker-image.test.js";

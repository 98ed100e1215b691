// credentials-api.test.ts on Podman (the podman project, vitest.config.ts), less the tests excluded.mjs names.
import "../auth/credentials-api.test.js";

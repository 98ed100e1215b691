// credentials-api.test.ts on Podman (the podman project, vitest.config.ts), less the tests excluded.mjs names.
import "../credentials-api.test.js";

// image-builds.test.ts on Podman (the podman project, vitest.config.ts), less the tests excluded.mjs names.
import "../prefect/image-builds.test.js";

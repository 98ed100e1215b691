import { inject } from "vitest";
import { IMAGE_LABELS } from "../../src/index.js";

// Every image built during this run carries the run's label, so the global teardown can remove
// exactly what the tests made and nothing else on the machine.
IMAGE_LABELS["io.prefect-dockerutils.test-run"] = inject("testRun");

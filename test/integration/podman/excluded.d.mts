// Types of excluded.mjs.

/** `[file (under test/integration, without .test.ts), full test name, reason]`. */
export const PODMAN_EXCLUDED: readonly (readonly [file: string, test: string, reason: string])[];

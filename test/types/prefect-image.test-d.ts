// Type tests, run by vitest's typecheck (the "types" project) and by `npm run typecheck`: a wrong
// type fails both. The @ts-expect-error lines prove that expectTypeOf really fails on a mismatch.
import { describe, expectTypeOf, it } from "vitest";
import * as engine from "../../src/engine-api.js";
import * as api from "../../src/index.js";

describe("the Prefect image name API", () => {
  it("keeps Prefect's synchronous signatures", () => {
    expectTypeOf(api.getPrefectImageName).parameters.toEqualTypeOf<
      [
        prefectVersion?: string | null,
        pythonVersion?: string | null,
        flavor?: string | null,
        options?: api.PrefectImageNameOptions,
      ]
    >();
    expectTypeOf(api.getPrefectImageName).returns.toEqualTypeOf<string>();
    expectTypeOf(api.pythonVersionMinor).toEqualTypeOf<() => string>();
    expectTypeOf(api.pythonVersionMicro).toEqualTypeOf<() => string>();
  });

  it("offers the probes asynchronously", () => {
    expectTypeOf(api.resolvePrefectImageName).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf(api.resolvePrefectImageName)
      .parameter(3)
      .toEqualTypeOf<api.ResolvePrefectImageNameOptions | undefined>();
    expectTypeOf(api.detectPythonVersion).returns.toEqualTypeOf<Promise<api.PythonVersion>>();
    expectTypeOf<api.PythonVersion>().toEqualTypeOf<{
      readonly minor: string;
      readonly micro: string;
    }>();
    expectTypeOf<api.ResolvePrefectImageNameOptions["signal"]>().toEqualTypeOf<
      AbortSignal | undefined
    >();
  });

  it("fails on a wrong type", () => {
    // @ts-expect-error getPrefectImageName returns a string, not a promise
    expectTypeOf(api.getPrefectImageName).returns.toEqualTypeOf<Promise<string>>();
    // @ts-expect-error resolvePrefectImageName resolves to a string
    expectTypeOf(api.resolvePrefectImageName).returns.resolves.toEqualTypeOf<number>();
  });
});

describe("the retry policy", () => {
  it("is a predicate over unknown errors", () => {
    expectTypeOf(engine.isTransientError).toEqualTypeOf<(error: unknown) => boolean>();
    expectTypeOf(engine.TRANSIENT_ERROR_PATTERNS).toEqualTypeOf<readonly string[]>();
  });
});

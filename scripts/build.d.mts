// Types of build.mjs, for its tests.
import type { Metafile } from "esbuild";

/** The entry points, by their path in dist/ (without `.js`), to their source. */
export const ENTRY_POINTS: Readonly<Record<string, string>>;

/** Packages copied into the bundle rather than installed. */
export const BUNDLED: readonly string[];

/** Options of {@link buildPackage}. */
export interface BuildPackageOptions {
  /** Where to build; emptied first. @default this checkout's dist/ */
  readonly outDir?: string;
  /** Whether tsc writes the declarations too. @default true */
  readonly declarations?: boolean;
  /** The checkout whose src/ is built. @default this one */
  readonly root?: string;
}

/** Builds the package; resolves to esbuild's metafile of the bundles. */
export function buildPackage(options?: BuildPackageOptions): Promise<Metafile>;

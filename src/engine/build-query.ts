/** The build settings both builders send in the query of `POST /build`. */
export interface BuildQueryOptions {
  readonly tag?: string | undefined;
  readonly pull?: boolean | undefined;
  readonly platform?: string | undefined;
  readonly buildArgs?: Readonly<Record<string, string>> | undefined;
  readonly target?: string | undefined;
  readonly noCache?: boolean | undefined;
  readonly extraHosts?: Readonly<Record<string, string>> | undefined;
  readonly networkMode?: string | undefined;
  readonly cacheFrom?: readonly string[] | undefined;
  readonly shmSize?: number | undefined;
  readonly memory?: number | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

/** The part of a build's query both builders send, in the engine's names; absent: `undefined`. */
export function buildQuery(
  options: BuildQueryOptions,
  dockerfile: string,
): Record<string, unknown> {
  const { buildArgs, extraHosts, cacheFrom, labels } = options;
  return {
    dockerfile,
    t: options.tag,
    pull: options.pull ? "1" : undefined,
    platform: options.platform,
    labels: labels ? JSON.stringify(labels) : undefined,
    buildargs: buildArgs ? JSON.stringify(buildArgs) : undefined,
    target: options.target,
    nocache: options.noCache ? "1" : undefined,
    // The engine splits "host:ip,host:ip" (the normaliser refuses `,` and `:` in host names).
    extrahosts: extraHosts
      ? Object.entries(extraHosts)
          .map(([host, ip]) => `${host}:${ip}`)
          .join(",")
      : undefined,
    networkmode: options.networkMode,
    cachefrom: cacheFrom ? JSON.stringify(cacheFrom) : undefined,
    shmsize: options.shmSize,
    memory: options.memory,
  };
}

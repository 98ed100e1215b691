/**
 * The library's messages in the command line's words: an option name (`registryUrl`) becomes the
 * flag or argument that set it (`REGISTRY_URL`).
 * @module
 */

type Rewrite = readonly [RegExp, string];

/** The command line's `options.auth` is the Docker configuration, through `docker login`. */
const NO_AUTH_OPTION: Rewrite = [/ or pass options\.auth\)/g, ")"];
const LOGIN_IN_URL: Rewrite = [
  /pass the login as options\.auth \(\{ username, password \}\) or with `docker login`/,
  "log in with `docker login` instead",
];

const REWRITES: Readonly<Record<string, readonly Rewrite[]>> = {
  build: [
    [/^tag\b/, "-t"],
    [/^dockerfile\b/, "-f"],
    [/^platform\b/, "--platform"],
    [/^target\b/, "--target"],
    [/^networkMode\b/, "--network"],
    [/^builder\b/, "--builder"],
    [/\bbaseImage must\b/, "--base-image must"],
    [/^secrets \(/, "--secret ("],
    [/^ssh \(/, "--ssh ("],
    [/needs builder: "buildkit"/, "needs --builder buildkit (or DOCKER_BUILDKIT=1)"],
    [/^registryUrl\b/, "--push"],
    [/^name\b/, "-t"],
    [/pass networkMode: "host" or "none"/g, "pass --network host or --network none"],
    NO_AUTH_OPTION,
    LOGIN_IN_URL,
  ],
  push: [
    [/^tag\b/, "--tag"],
    [/^imageId\b/, "IMAGE"],
    [/^registryUrl\b/, "REGISTRY_URL"],
    [
      /^name (.*) holds a tag; pass the repository as name and the tag as options\.tag: pushImage\(imageId, registryUrl, ("(?:[^"\\]|\\.)*"), \{ tag: ("(?:[^"\\]|\\.)*") \}\)$/,
      "NAME $1 holds a tag; pass the repository as NAME and the tag as --tag: push IMAGE REGISTRY_URL $2 --tag $3",
    ],
    [/^name\b/, "NAME"],
    NO_AUTH_OPTION,
    LOGIN_IN_URL,
  ],
  dockerfile: [[/\bbaseImage must\b/, "--base-image must"]],
};

/** `message` as `command`'s flags say it. */
export function inFlagWords(command: string, message: string): string {
  let text = message;
  for (const [pattern, words] of REWRITES[command] ?? []) text = text.replace(pattern, words);
  return text;
}

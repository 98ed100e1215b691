/**
 * The `prefect-dockerutils` command line. Each command loads the library when it runs, so `--help`
 * and `--version` answer without it.
 * @module
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { CANCEL_SIGNALS, Cancellation, type SignalSource } from "./cancellation.js";
import type { ProgressChoice, RenderTarget } from "./progress/renderer.js";

/** What the command line reads and writes: the process's, or a test's. */
export interface CliIo {
  /** Results: image IDs, references, Dockerfiles, JSON. */
  readonly stdout: { write(text: string): unknown };
  /** Progress, errors and usage. */
  readonly stderr: RenderTarget;
  readonly env: NodeJS.ProcessEnv;
  /** The folder relative paths are read from. */
  readonly cwd: string;
  /** Where SIGINT and SIGTERM come from. */
  readonly signals: SignalSource;
  /** Ends the process at once (after a second Ctrl-C). */
  readonly exitNow: (code: number) => void;
}

/** What every command receives. */
export interface CommandContext {
  readonly io: CliIo;
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Whether output to stderr may be coloured. */
  readonly color: boolean;
  /** The `--progress` choice of commands that have one. */
  readonly progress: ProgressChoice;
}

/** Exit code of a usage error, as the docker CLI's. */
export const USAGE_EXIT_CODE = 2;
/** Exit code of a failed build, push or other operation. */
export const FAILURE_EXIT_CODE = 1;

const PROGRESS_CHOICES = ["auto", "tty", "plain", "json"] as const;

/** The version in package.json, read without loading the library. */
function packageVersion(): string {
  const file = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** Colour on stderr: off by `--no-color` or `NO_COLOR`, on by `FORCE_COLOR` or a terminal. */
export function colorEnabled(flag: boolean, io: CliIo): boolean {
  if (!flag || (io.env.NO_COLOR ?? "") !== "") return false;
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== "" && force !== "0" && force !== "false") return true;
  return io.stderr.isTTY === true && io.env.TERM !== "dumb";
}

function red(color: boolean): (text: string) => string {
  return color ? (text) => `\u001b[31m${text}\u001b[39m` : (text) => text;
}

type Action = (context: CommandContext, ...args: never[]) => Promise<void>;

/**
 * Runs the command line with `argv` (without `node` and the script) and resolves to the exit
 * code: 0 on success, 1 when an operation failed, 2 for a usage error, 130 or 143 when SIGINT or
 * SIGTERM cancelled it.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  let colorFlag = !argv.includes("--no-color");

  const program = new Command("prefect-dockerutils")
    .description(
      "Build Docker images and push them to registries as Prefect does, without Python or buildx.",
    )
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(red(colorEnabled(colorFlag, io))(text)),
    })
    .option("--no-color", "do not colour the output (also NO_COLOR=1)")
    .version(packageVersion(), "-v, --version", "print the version and exit")
    .helpOption("-h, --help", "show help for a command")
    .helpCommand(false);

  const run =
    (load: () => Promise<Action>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const options = command.optsWithGlobals() as { color?: boolean; progress?: ProgressChoice };
      colorFlag = options.color !== false;
      const color = colorEnabled(colorFlag, io);
      const progress = options.progress ?? "auto";
      using cancellation = new Cancellation(io.signals, (signal) =>
        io.exitNow(CANCEL_SIGNALS[signal]),
      );
      try {
        const action = await load();
        await action({ io, signal: cancellation.signal, color, progress }, ...(args as never[]));
      } catch (error) {
        if (error instanceof CommanderError) throw error;
        const cancelledBy = cancellation.cancelledBy;
        if (cancelledBy) {
          exitCode = CANCEL_SIGNALS[cancelledBy];
          if (progress === "json") {
            io.stderr.write(`${JSON.stringify({ type: "cancelled", signal: cancelledBy })}\n`);
          } else {
            io.stderr.write(`cancelled by ${cancelledBy}\n`);
          }
          return;
        }
        const [{ describeError, reportError }, { inFlagWords }, { UsageError }] = await Promise.all(
          [import("./report-error.js"), import("./flag-words.js"), import("./usage-error.js")],
        );
        // The library's messages name its options; here they name the flags that set them.
        const message = inFlagWords(
          command.name(),
          error instanceof Error ? error.message : String(error),
        );
        if (error instanceof UsageError) {
          // A flag that does not parse, or flags that need each other: the usage says how.
          command.error(`error: ${message}`, {
            exitCode: USAGE_EXIT_CODE,
            code: "prefect-dockerutils.usage",
          });
        }
        const invalid = (error as { code?: unknown })?.code === "ERR_DOCKER_INVALID_ARGUMENT";
        // A value that parses but is wrong: exit 2, but the usage would not help.
        exitCode = invalid ? USAGE_EXIT_CODE : FAILURE_EXIT_CODE;
        if (progress === "json") {
          io.stderr.write(
            `${JSON.stringify({ type: "error", lines: describeError(error, message) })}\n`,
          );
        } else if (invalid) {
          io.stderr.write(`${red(color)(`error: ${message}`)}\n`);
        } else {
          reportError(io.stderr, error, red(color), message);
        }
      }
    };

  const progressOption = () =>
    new Option("--progress <mode>", "how to show progress on stderr: auto is tty on a terminal")
      .choices(PROGRESS_CHOICES)
      .default("auto");

  program
    .command("build")
    .description(
      "Build an image from a folder, as Prefect's build_image does (progress on stderr, the image ID on stdout).",
    )
    .argument("[context]", "the build context folder", ".")
    .option("-t, --tag <name>", "name and tag the image, NAME[:TAG] (repeatable)", collectFlag, [])
    .option(
      "-f, --file <path>",
      'the Dockerfile, relative to the current folder; "auto" builds with the Dockerfile Prefect generates (see `dockerfile`)',
    )
    .addOption(
      new Option("--builder <builder>", "classic, or BuildKit through the Engine API").choices([
        "classic",
        "buildkit",
      ]),
    )
    .option(
      "--build-arg <arg>",
      "set a build argument, KEY=VALUE or KEY (repeatable)",
      collectFlag,
      [],
    )
    .option(
      "--secret <spec>",
      "a BuildKit secret: id=ID,src=PATH or id=ID,env=VAR (repeatable)",
      collectFlag,
      [],
    )
    .option(
      "--ssh <spec>",
      "forward an SSH agent to BuildKit: default, default=SOCKET or ID=SOCKET (repeatable)",
      collectFlag,
      [],
    )
    .option(
      "--platform <platform>",
      "the target platform, e.g. linux/amd64; several (linux/amd64,linux/arm64) are pushed as one multi-platform image and need --push and -t",
    )
    .option("--pull", "pull the base images even when the engine has them")
    .option("--no-cache", "build without the cache")
    .option("--target <stage>", "the stage of a multi-stage Dockerfile to build")
    .option("--network <mode>", "the network of RUN steps, e.g. host or none")
    .option(
      "--push <registry-url>",
      "push the image after building, named after the first -t, and print the pushed reference",
    )
    .option(
      "--base-image <image>",
      "with -f auto: the image the generated Dockerfile starts FROM (default: Prefect's)",
    )
    .option("-q, --quiet", "print only the image ID (and the pushed reference with --push)")
    .addOption(progressOption())
    .addHelpText(
      "after",
      `
Examples:
  $ prefect-dockerutils build -t my-flows:dev .
  $ prefect-dockerutils build -f auto --push http://localhost:5000 -t team/flows:1 ./flows
  $ prefect-dockerutils build -f auto --base-image python:3.12-slim -t team/flows:2 ./flows
  $ prefect-dockerutils build --builder buildkit --secret id=token,env=TOKEN --network host .
  $ prefect-dockerutils build --platform linux/amd64,linux/arm64 -t team/app:1 --push http://localhost:5000 .`,
    )
    .action(run(async () => (await import("./commands/build-command.js")).buildCommand as Action));

  program
    .command("push")
    .description(
      "Push a local image to a registry as Prefect's push_image does, and print the pushed reference.",
    )
    .argument("<image>", "the image ID or name to push")
    .argument("<registry-url>", "the registry, e.g. http://localhost:5000 or ghcr.io")
    .argument("<name>", "the repository name in the registry, e.g. team/app")
    .option("--tag <tag>", "the tag to push (default: the current UTC time, as Prefect makes it)")
    .option("-q, --quiet", "print only the pushed reference")
    .addOption(progressOption())
    .addHelpText(
      "after",
      `
Example:
  $ prefect-dockerutils push my-flows:dev http://localhost:5000 team/flows --tag v1
  localhost:5000/team/flows:v1`,
    )
    .action(run(async () => (await import("./commands/push-command.js")).pushCommand as Action));

  program
    .command("dockerfile")
    .description(
      "Print the Dockerfile Prefect would generate for a folder (nothing is written anywhere).",
    )
    .argument("[dir]", "the folder the Dockerfile is for", ".")
    .option("--base-image <image>", "the image it starts FROM (default: Prefect's)")
    .action(
      run(
        async () => (await import("./commands/dockerfile-command.js")).dockerfileCommand as Action,
      ),
    );

  program
    .command("image-name")
    .description("Print the Prefect base image for a Prefect and Python version.")
    .option("--prefect-version <version>", "a PEP 440 version (default: the targeted Prefect's)")
    .option("--python-version <x.y>", "the Python minor version (default: the local python3's)")
    .option("--flavor <flavor>", "an image flavor, e.g. conda")
    .action(
      run(
        async () => (await import("./commands/image-name-command.js")).imageNameCommand as Action,
      ),
    );

  program
    .command("parse-ref")
    .description(
      "Parse and normalise an image reference as the docker CLI does, and print it as JSON.",
    )
    .argument("<reference>", "e.g. ubuntu, ghcr.io/team/app:1 or localhost:5000/x@sha256:...")
    .addHelpText(
      "after",
      `
Example:
  $ prefect-dockerutils parse-ref localhost:5000/foo/bar:v1`,
    )
    .action(
      run(async () => (await import("./commands/parse-ref-command.js")).parseRefCommand as Action),
    );

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other parser complaint is a usage error.
      return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
    }
    throw error;
  }
  if (argv.length === 0) {
    // No command: show what there is, as a usage error (the docker CLI does the same).
    program.outputHelp({ error: true });
    return USAGE_EXIT_CODE;
  }
  return exitCode;
}

function collectFlag(value: string, previous: string[]): string[] {
  return [...previous, value];
}

// ssh:// engines without an sshd: what happens when ssh itself is missing or misbehaves. The real
// sshd cases (refused key, unknown host key, no docker, builds and pushes) are in
// test/integration/engine/ssh.test.ts. The `ssh` here is a script on PATH standing in for one that
// prints without end: a fault a real ssh does not produce on demand.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openEngine } from "../../src/engine/engine-connection.js";
import { EngineUnreachableError } from "../../src/errors.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function binDir(ssh?: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "pdu-ssh-bin-"));
  dirs.push(dir);
  if (ssh !== undefined) {
    await writeFile(path.join(dir, "ssh"), `#!/bin/sh\n${ssh}\n`);
    await chmod(path.join(dir, "ssh"), 0o755);
  }
  return dir;
}

describe("an ssh:// engine", () => {
  it("fails with EngineUnreachableError naming the host when ssh is not on PATH", async () => {
    const empty = await binDir();
    const error = await openEngine({
      env: { PATH: empty, DOCKER_HOST: "ssh://deploy@build-host.example:2222" },
    })
      .ping({ timeoutMs: 10_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as Error).message).toBe(
      "Cannot reach the Docker engine at ssh://deploy@build-host.example:2222 (from DOCKER_HOST): ssh was not found on PATH; install the OpenSSH client (the docker CLI runs it for ssh:// engines too)",
    );
    expect((error as EngineUnreachableError).endpoint).toBe("ssh://deploy@build-host.example:2222");
  });

  it("runs ssh as the docker CLI does, and keeps only the end of a long stderr", async () => {
    // Records its arguments, prints 20000 lines and one very long line to stderr, exits 255.
    const dir = await binDir(
      `printf '%s\\n' "$@" > "$(dirname "$0")/args"
i=0; while [ $i -lt 20000 ]; do echo "noise line $i" >&2; i=$((i+1)); done
head -c 100000 /dev/zero | tr '\\0' x >&2; echo >&2
echo "root@host: Permission denied (publickey)." >&2
exit 255`,
    );
    const error = await openEngine({
      env: { PATH: `${dir}:/usr/bin:/bin`, DOCKER_HOST: "ssh://root@host:2222" },
    })
      .ping({ timeoutMs: 30_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^Cannot reach the Docker engine at ssh:\/\/root@host:2222 \(from DOCKER_HOST\): ssh exited with status 255: /,
    );
    expect(message).toContain("root@host: Permission denied (publickey).");
    expect(message).toContain("noise line 19999");
    expect(message).not.toContain("noise line 1000\n");
    expect(message.length).toBeLessThan(5_000);
    expect(message).toContain(
      "try `ssh -o ConnectTimeout=30 -T -l root -p 2222 -- host docker system dial-stdio`",
    );
    expect((await readFile(path.join(dir, "args"), "utf8")).trim().split("\n")).toEqual([
      "-o",
      "ConnectTimeout=30",
      "-T",
      "-l",
      "root",
      "-p",
      "2222",
      "--",
      "host",
      "docker",
      "system",
      "dial-stdio",
    ]);
  }, 60_000);
});

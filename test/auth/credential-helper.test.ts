import { describe, expect, it } from "vitest";
import { credentialHelperGet, credentialHelperList } from "../../src/auth/credential-helper.js";
import {
  registryConfigHeader,
  resolveAllRegistryAuths,
  resolveRegistryAuth,
} from "../../src/auth/credentials.js";
import { CredentialsError } from "../../src/errors.js";
import { DOCKER_HUB_KEY } from "../../src/reference/registry-key.js";
import {
  basicAuth,
  decodeHeader,
  dockerConfig,
  envWith,
  installHelper,
  tempDir,
} from "../support/credentials/support.js";

describe("the credential-helper protocol", () => {
  it("writes the server URL to get's stdin, without a newline, and reads the JSON answer", async () => {
    const helper = await installHelper("proto", {
      "r.example": { Username: "u", Secret: "s+/=\"'ö" },
    });
    const env = envWith(await tempDir(), helper.binDir);
    expect(await credentialHelperGet("proto", "r.example", { env })).toEqual({
      username: "u",
      secret: "s+/=\"'ö",
    });
    expect(await helper.calls()).toEqual([{ action: "get", input: "r.example" }]);
  });

  it.each([
    ["credentials not found", "other.example", undefined],
    ["an empty user name and secret", "r.example", "empty"],
  ])("answers no credentials for %s", async (_case, server, mode) => {
    const helper = await installHelper("proto", { "r.example": { Username: "u", Secret: "s" } });
    const env = {
      ...envWith(await tempDir(), helper.binDir),
      ...(mode ? { PDU_HELPER_MODE: mode } : {}),
    };
    expect(await credentialHelperGet("proto", server, { env })).toBeUndefined();
  });

  it("lists the servers a helper holds", async () => {
    const helper = await installHelper("proto", {
      "a.example": { Username: "a", Secret: "1" },
      "https://b.example": { Username: "b", Secret: "2" },
    });
    const env = envWith(await tempDir(), helper.binDir);
    expect(Object.fromEntries(await credentialHelperList("proto", { env }))).toEqual({
      "a.example": "a",
      "https://b.example": "b",
    });
  });

  it("names a helper that is not installed, and where it was configured", async () => {
    const env = envWith(await tempDir());
    const error = await credentialHelperGet("nowhere-pdu", "r.example", {
      env,
      origin: 'credHelpers["r.example"] in /x/config.json',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect(error).toMatchObject({
      code: "ERR_DOCKER_CREDENTIALS",
      helper: "docker-credential-nowhere-pdu",
    });
    expect((error as Error).message).toContain(
      "docker-credential-nowhere-pdu is not installed or not on PATH",
    );
    expect((error as Error).message).toContain('credHelpers["r.example"] in /x/config.json');
  });

  it("reports a failing helper by its exit code and how to run it, never by its output", async () => {
    const helper = await installHelper("proto", {});
    const env = { ...envWith(await tempDir(), helper.binDir), PDU_HELPER_MODE: "fail" };
    const error = await credentialHelperGet("proto", "r.example", { env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toMatch(/docker-credential-proto get .*exited with code 1\./);
    expect((error as Error).message).toContain(
      "printf %s 'r.example' | docker-credential-proto get",
    );
    expect((error as Error).message).not.toContain("keychain is locked");
  });

  it("does not echo an answer that is not JSON, which could be the secret", async () => {
    const helper = await installHelper("proto", {});
    const env = { ...envWith(await tempDir(), helper.binDir), PDU_HELPER_MODE: "garbage" };
    const error = await credentialHelperGet("proto", "r.example", { env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toContain("not JSON");
    expect((error as Error).message).not.toContain("this is not json");
  });

  it("stops the helper when cancelled", async () => {
    const helper = await installHelper("proto", {});
    const controller = new AbortController();
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(
      credentialHelperGet("proto", "r.example", {
        env: envWith(await tempDir(), helper.binDir),
        signal: controller.signal,
      }),
    ).rejects.toBe(reason);
  });
});

describe("credentials from helpers", () => {
  it("asks credHelpers before credsStore, and credsStore before auths", async () => {
    const specific = await installHelper("specific", {
      "r.example": { Username: "specific", Secret: "1" },
    });
    const store = await installHelper("store", {
      "r.example": { Username: "store", Secret: "2" },
      "s.example": { Username: "store", Secret: "3" },
    });
    const dir = await dockerConfig({
      auths: {
        "r.example": { auth: basicAuth("file", "x") },
        "s.example": { auth: basicAuth("file", "y") },
        "t.example": { auth: basicAuth("file", "z") },
      },
      credHelpers: { "r.example": "specific" },
      credsStore: "store",
    });
    const env = envWith(dir, specific.binDir, store.binDir);
    expect(await resolveRegistryAuth("r.example/a", { env })).toEqual({
      username: "specific",
      password: "1",
      serveraddress: "r.example",
    });
    expect(await resolveRegistryAuth("s.example/a", { env })).toMatchObject({
      username: "store",
      password: "3",
    });
    // Nothing in the store for t.example: docker-py falls back to auths.
    expect(await resolveRegistryAuth("t.example/a", { env })).toMatchObject({
      username: "file",
      password: "z",
    });
    expect(await specific.calls()).toEqual([{ action: "get", input: "r.example" }]);
    expect(await store.calls()).toEqual([
      { action: "get", input: "s.example" },
      { action: "get", input: "t.example" },
    ]);
  });

  it("asks helpers about Docker Hub by its full URL, and reads <token> as an identity token", async () => {
    const helper = await installHelper("hub", {
      [DOCKER_HUB_KEY]: { Username: "<token>", Secret: "refresh" },
    });
    const dir = await dockerConfig({ credHelpers: { "docker.io": "hub" } });
    const env = envWith(dir, helper.binDir);
    expect(await resolveRegistryAuth("busybox", { env })).toEqual({
      identitytoken: "refresh",
      serveraddress: DOCKER_HUB_KEY,
    });
    expect(await helper.calls()).toEqual([{ action: "get", input: DOCKER_HUB_KEY }]);
  });

  it("keeps the email of the auths entry next to a helper's login, like the CLI", async () => {
    const helper = await installHelper("store", { "r.example": { Username: "u", Secret: "p" } });
    const dir = await dockerConfig({
      auths: { "r.example": { email: "me@r.example" } },
      credsStore: "store",
    });
    expect(await resolveRegistryAuth("r.example/a", { env: envWith(dir, helper.binDir) })).toEqual({
      username: "u",
      password: "p",
      email: "me@r.example",
      serveraddress: "r.example",
    });
  });

  it("fails clearly when a configured helper is missing", async () => {
    const dir = await dockerConfig({ credHelpers: { "r.example": "missing-pdu" } });
    const error = await resolveRegistryAuth("r.example/a", { env: envWith(dir) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toContain("docker-credential-missing-pdu");
    expect((error as Error).message).toContain(`credHelpers["r.example"] in ${dir}/config.json`);
  });

  it("sends a build every login: auths, what credsStore lists, and every credHelpers registry", async () => {
    const store = await installHelper("store", {
      "https://s.example/v2/": { Username: "store", Secret: "s" },
      [DOCKER_HUB_KEY]: { Username: "hub", Secret: "h" },
      "gone.example": { Username: "", Secret: "" },
    });
    const specific = await installHelper("specific", {
      "h.example": { Username: "<token>", Secret: "t" },
    });
    const dir = await dockerConfig({
      auths: {
        "a.example": { auth: basicAuth("file", "a") },
        "h.example": { auth: basicAuth("file", "b") },
      },
      credsStore: "store",
      credHelpers: { "h.example": "specific" },
    });
    const env = envWith(dir, store.binDir, specific.binDir);
    const header = await registryConfigHeader({ env });
    expect(decodeHeader(header ?? "")).toEqual({
      "a.example": { username: "file", password: "a", serveraddress: "a.example" },
      "s.example": { username: "store", password: "s", serveraddress: "https://s.example/v2/" },
      [DOCKER_HUB_KEY]: { username: "hub", password: "h", serveraddress: DOCKER_HUB_KEY },
      "h.example": { identitytoken: "t", serveraddress: "h.example" },
    });
    expect((await store.calls()).map((call) => call.action)).toEqual(["list", "get", "get", "get"]);
    expect(await specific.calls()).toEqual([{ action: "get", input: "h.example" }]);
  });

  it("fails a build's lookup when credsStore's helper is missing, as docker-py does", async () => {
    const dir = await dockerConfig({ credsStore: "desktop-pdu-missing" });
    await expect(resolveAllRegistryAuths({ env: envWith(dir) })).rejects.toThrow(
      /docker-credential-desktop-pdu-missing is not installed or not on PATH; it is named by credsStore/,
    );
  });
});

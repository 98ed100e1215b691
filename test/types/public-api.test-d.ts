// The public API's types, checked by tsc through vitest's typecheck (the "types" project) and by
// `npm run typecheck`: a wrong type fails both. These assertions used to sit in runtime tests,
// where expectTypeOf does nothing when it runs. The @ts-expect-error lines prove that a mismatch
// really fails.
import type { Writable } from "node:stream";
import type Docker from "dockerode";
import { describe, expectTypeOf, it } from "vitest";
import * as dockerodeEntry from "../../src/dockerode.js";
import * as engine from "../../src/engine-api.js";
import * as api from "../../src/index.js";
import * as steps from "../../src/steps.js";

describe("the Prefect API", () => {
  it("keeps Prefect's signatures", () => {
    expectTypeOf(api.buildImage).parameters.toEqualTypeOf<[string, api.BuildImageOptions?]>();
    expectTypeOf(api.buildImage).returns.resolves.toBeString();
    expectTypeOf(api.pushImage).parameters.toEqualTypeOf<
      [string, string, string, api.PushImageOptions?]
    >();
    expectTypeOf(api.pushImage).returns.resolves.toBeString();
    expectTypeOf(api.parseImageTag).returns.toEqualTypeOf<[string, string | null]>();
    expectTypeOf(api.splitRepositoryPath).returns.toEqualTypeOf<[string | null, string]>();
    expectTypeOf(api.getPrefectImageName).toBeCallableWith();
    expectTypeOf(api.getPrefectImageName).toBeCallableWith("3.0.0", "3.12", "conda");
    expectTypeOf<api.BuildImageOptions["streamProgressTo"]>().toEqualTypeOf<Writable | undefined>();
    // A missing Dockerfile is a BuildError with a code of its own (Prefect's callers catch BuildError).
    expectTypeOf<api.BuildError["code"]>().toEqualTypeOf<
      "ERR_DOCKER_BUILD" | "ERR_DOCKER_DOCKERFILE_NOT_FOUND"
    >();
    expectTypeOf<api.DockerfileNotFoundError>().toMatchTypeOf<api.BuildError>();
    expectTypeOf<
      api.DockerfileNotFoundError["code"]
    >().toEqualTypeOf<"ERR_DOCKER_DOCKERFILE_NOT_FOUND">();
    expectTypeOf<api.ContextSyncEvent["type"]>().toEqualTypeOf<"context-sync">();
    expectTypeOf<api.PushError["code"]>().toEqualTypeOf<"ERR_DOCKER_PUSH">();
    expectTypeOf(new api.ImageBuilder("busybox")).toMatchTypeOf<AsyncDisposable>();
    expectTypeOf(new api.ImageBuilder("busybox").copy).parameters.toEqualTypeOf<
      [string, string, api.ImageBuilderCopyOptions?]
    >();
    expectTypeOf<api.ImageBuilderCopyOptions>().toEqualTypeOf<{
      readonly applyDockerignore?: boolean;
    }>();
    expectTypeOf(api.generateDefaultDockerfile).returns.resolves.toMatchTypeOf<
      AsyncDisposable & { path: string }
    >();
    expectTypeOf(api.generateDefaultDockerfile).toBeCallableWith(".", { baseImage: "python:3" });
    expectTypeOf<api.DefaultDockerfileOptions["baseImage"]>().toEqualTypeOf<string | undefined>();
  });

  it("tells a refused login from other push failures", () => {
    expectTypeOf<api.PushError["authFailure"]>().toEqualTypeOf<boolean>();
    expectTypeOf<api.PushError["statusCode"]>().toEqualTypeOf<number | undefined>();
  });

  it("gives builds and pushes the same engine operation options", () => {
    expectTypeOf<api.BuildImageOptions>().toMatchTypeOf<api.EngineOperationOptions>();
    expectTypeOf<api.PushImageOptions>().toMatchTypeOf<api.EngineOperationOptions>();
    expectTypeOf<api.EngineOperationOptions["auth"]>().toEqualTypeOf<
      api.CredentialOptions["auth"]
    >();
  });

  it("fails on a wrong type", () => {
    // @ts-expect-error buildImage resolves to the image ID, a string
    expectTypeOf(api.buildImage).returns.resolves.toBeNumber();
    // @ts-expect-error the push error's code is its own
    expectTypeOf<api.PushError["code"]>().toEqualTypeOf<"ERR_DOCKER_BUILD">();
  });
});

describe("the deployment steps", () => {
  it("resolve to Prefect's step results", () => {
    expectTypeOf(
      steps.buildDockerImage,
    ).returns.resolves.toEqualTypeOf<steps.BuildDockerImageResult>();
    expectTypeOf<steps.BuildDockerImageResult>().toEqualTypeOf<{
      readonly image_name: string;
      readonly tag: string;
      readonly image: string;
      readonly image_id: string;
      readonly additional_tags: string[];
    }>();
    expectTypeOf<steps.PushDockerImageResult>().toEqualTypeOf<{
      readonly image_name: string;
      readonly tag: string | null;
      readonly image: string;
      readonly additional_tags: string[];
    }>();
    expectTypeOf(new api.DockerImage("x").build).returns.resolves.toBeString();
    // One push result type, for pushImageDetailed and DockerImage alike.
    expectTypeOf(new api.DockerImage("x").push).returns.resolves.toEqualTypeOf<api.PushResult>();
    expectTypeOf(api.pushImageDetailed).returns.resolves.toEqualTypeOf<api.PushResult>();
  });
});

describe("progress events", () => {
  it("narrow by type, and a switch over every type needs no default", () => {
    // Returns a string on every path only while every event type has its case: a new type
    // without one fails the compile (TS2366).
    const describeEvent = (event: api.ProgressEvent): string => {
      switch (event.type) {
        case "step":
          return `${event.step}/${event.totalSteps}`;
        case "output":
          return event.text;
        case "status":
          return `${event.operation} ${event.status} ${event.current ?? 0}/${event.total ?? 0}`;
        case "image-id":
          return event.imageId;
        case "digest":
          return event.digest;
        case "retry":
          return `${event.attempt}/${event.maxAttempts}`;
        case "vertex":
          return `#${event.number} ${event.name} ${event.state}`;
        case "vertex-log":
          return `#${event.number} ${event.text}`;
        case "vertex-status":
          return `#${event.number} ${event.id} ${event.current}/${event.total ?? 0}`;
        case "context-sync":
          return `${event.dir}: ${event.files}/${event.entries} files, ${event.bytes} bytes`;
        case "platform":
          return `${event.platform} ${event.state} ${event.digest ?? event.imageId ?? ""}`;
        case "blob":
          return `${event.platform} ${event.kind} ${event.digest} ${event.state} ${event.current}/${event.total}`;
        case "index":
          return `${event.reference}@${event.digest}: ${event.manifests.map((m) => m.platform).join(",")}`;
      }
    };
    expectTypeOf(describeEvent).returns.toBeString();
    expectTypeOf<Extract<api.ProgressEvent, { type: "step" }>["step"]>().toBeNumber();
  });
});

describe("parseImageReference", () => {
  it("types its result exactly", () => {
    expectTypeOf(api.parseImageReference).parameters.toEqualTypeOf<[string]>();
    expectTypeOf(api.parseImageReference).returns.toEqualTypeOf<api.ImageReference>();
    expectTypeOf<api.ImageReference>().toEqualTypeOf<{
      readonly registry: string;
      readonly path: string;
      readonly tag: string | undefined;
      readonly digest: string | undefined;
      readonly familiarName: string;
      readonly normalizedName: string;
    }>();
  });
});

describe("checkEngine", () => {
  it("has the documented types", () => {
    expectTypeOf(api.checkEngine).parameters.toEqualTypeOf<[api.CheckEngineOptions?]>();
    expectTypeOf<api.CheckEngineOptions["docker"]>().toEqualTypeOf<
      api.DockerodeClient | undefined
    >();
    expectTypeOf<api.CheckEngineOptions["env"]>().toEqualTypeOf<NodeJS.ProcessEnv | undefined>();
    expectTypeOf(api.checkEngine).returns.toEqualTypeOf<Promise<api.EngineEndpoint>>();
    expectTypeOf<api.CheckEngineOptions["signal"]>().toEqualTypeOf<AbortSignal | undefined>();
  });
});

describe("dockerode", () => {
  it("is taken structurally by the docker option, and returned typed by dockerClient()", () => {
    expectTypeOf<Docker>().toMatchTypeOf<api.DockerodeClient>();
    expectTypeOf<api.BuildImageOptions["docker"]>().toEqualTypeOf<
      api.DockerodeClient | undefined
    >();
    expectTypeOf(dockerodeEntry.dockerClient).returns.toEqualTypeOf<Docker>();
    expectTypeOf(dockerodeEntry.dockerClient).parameters.toEqualTypeOf<
      [api.DockerClientOptions?]
    >();
    expectTypeOf<api.EngineEndpoint["modemOptions"]>().toMatchTypeOf<Docker.DockerOptions>();
    // @ts-expect-error a string is no dockerode client.
    expectTypeOf<string>().toMatchTypeOf<api.DockerodeClient>();
  });

  it("has tagImage and MissingDependencyError", () => {
    expectTypeOf(api.tagImage).parameters.toEqualTypeOf<[string, string, api.TagImageOptions?]>();
    expectTypeOf(api.tagImage).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<
      api.MissingDependencyError["code"]
    >().toEqualTypeOf<"ERR_DOCKER_MISSING_DEPENDENCY">();
  });
});

describe("the credential functions", () => {
  it("have the documented types", () => {
    expectTypeOf(engine.registryAuthHeader).parameters.toEqualTypeOf<
      [string, api.CredentialOptions?]
    >();
    expectTypeOf(engine.registryAuthHeader).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf(engine.registryConfigHeader).returns.toEqualTypeOf<Promise<string | undefined>>();
    expectTypeOf<typeof engine.DOCKER_HUB_KEY>().toEqualTypeOf<"https://index.docker.io/v1/">();
    expectTypeOf(api.registryOfImage).toEqualTypeOf<(reference: string) => string>();
    expectTypeOf<api.CredentialOptions["auth"]>().toEqualTypeOf<
      api.RegistryAuth | Readonly<Record<string, api.RegistryAuth>> | undefined
    >();
  });
});

describe("createBuildContext", () => {
  it("resolves to a BuildContext that lists what it sent", () => {
    expectTypeOf(api.createBuildContext).returns.resolves.toEqualTypeOf<api.BuildContext>();
    expectTypeOf<api.BuildContext["entries"]>().resolves.toEqualTypeOf<
      readonly api.BuildContextEntry[]
    >();
    // @ts-expect-error the list is read-only
    expectTypeOf<api.BuildContext["entries"]>().resolves.toEqualTypeOf<api.BuildContextEntry[]>();
  });
});

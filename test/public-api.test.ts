import type { Writable } from "node:stream";
import { describe, expect, expectTypeOf, it } from "vitest";
import * as api from "../src/index.js";
import * as steps from "../src/steps.js";
import * as testing from "../src/testing.js";

describe("the public API", () => {
  it("exports exactly these names from the package root", () => {
    expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
      [
        "BuildContextError",
        "BuildError",
        "CONTAINER_LABELS",
        "CredentialsError",
        "DEFAULT_PYTHON_VERSION",
        "DOCKER_HUB_KEY",
        "DockerImage",
        "DockerUtilsError",
        "EngineHttpError",
        "EngineUnreachableError",
        "IMAGE_LABELS",
        "ImageBuilder",
        "InactivityTimeoutError",
        "InvalidArgumentError",
        "InvalidStateError",
        "PREFECT_VERSION",
        "PushError",
        "TRANSIENT_ERROR_PATTERNS",
        "buildImage",
        "checkEngine",
        "createBuildContext",
        "detectPythonVersion",
        "dockerClient",
        "formatOutlierVersionName",
        "generateDefaultDockerfile",
        "getPrefectImageName",
        "isTransientError",
        "parseImageReference",
        "parseImageTag",
        "pushImage",
        "pushImageDetailed",
        "pythonVersionMicro",
        "pythonVersionMinor",
        "registryAuthHeader",
        "registryConfigHeader",
        "registryOfImage",
        "resolveEngine",
        "resolvePrefectImageName",
        "resolveRegistryAuth",
        "splitRepositoryPath",
        "toRunCommand",
      ]
    `);
  });

  it("exports captureBuilders from prefect-dockerutils/testing", () => {
    expect(Object.keys(testing).sort()).toEqual(["CapturedBuilders", "captureBuilders"]);
  });

  it("exports the deployment steps from prefect-dockerutils/steps", () => {
    expect(Object.keys(steps).sort()).toEqual([
      "DENIED_MESSAGE_HINT",
      "buildDockerImage",
      "clearStepCache",
      "pushDockerImage",
    ]);
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
  });

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
    expectTypeOf<api.BuildError["code"]>().toEqualTypeOf<"ERR_DOCKER_BUILD">();
    expectTypeOf<api.ContextSyncEvent["type"]>().toEqualTypeOf<"context-sync">();
    expectTypeOf<api.PushError["code"]>().toEqualTypeOf<"ERR_DOCKER_PUSH">();
    expectTypeOf(new api.ImageBuilder("busybox")).toMatchTypeOf<AsyncDisposable>();
    expectTypeOf(api.generateDefaultDockerfile).returns.resolves.toMatchTypeOf<
      AsyncDisposable & { path: string }
    >();
  });

  it("gives builds and pushes the same engine operation options", () => {
    expectTypeOf<api.BuildImageOptions>().toMatchTypeOf<api.EngineOperationOptions>();
    expectTypeOf<api.PushImageOptions>().toMatchTypeOf<api.EngineOperationOptions>();
    expectTypeOf<api.EngineOperationOptions["auth"]>().toEqualTypeOf<
      api.CredentialOptions["auth"]
    >();
  });

  it("narrows progress events by type", () => {
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
      }
    };
    expect(describeEvent({ type: "step", step: 2, totalSteps: 4, instruction: "RUN x" })).toBe(
      "2/4",
    );
  });

  it("has IMAGE_LABELS and CONTAINER_LABELS with the targeted Prefect version", () => {
    expect(api.IMAGE_LABELS["io.prefect.version"]).toBe(api.PREFECT_VERSION);
    expect(api.CONTAINER_LABELS).toEqual({ "io.prefect.version": api.PREFECT_VERSION });
  });

  it("types parseImageReference's result exactly", () => {
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

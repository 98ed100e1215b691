import { describe, expect, it } from "vitest";
import * as dockerode from "../src/dockerode.js";
import * as engine from "../src/engine-api.js";
import * as api from "../src/index.js";
import * as steps from "../src/steps.js";
import * as testing from "../src/testing.js";

// The public types are checked in test/types/public-api.test-d.ts (the "types" project).
describe("the public API", () => {
  it("exports exactly these names from the package root", () => {
    expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
      [
        "BuildContextError",
        "BuildError",
        "CONTAINER_LABELS",
        "CredentialsError",
        "DEFAULT_PYTHON_VERSION",
        "DockerImage",
        "DockerUtilsError",
        "DockerfileNotFoundError",
        "EngineHttpError",
        "EngineUnreachableError",
        "IMAGE_LABELS",
        "ImageBuilder",
        "InactivityTimeoutError",
        "InvalidArgumentError",
        "InvalidStateError",
        "MissingDependencyError",
        "PREFECT_VERSION",
        "PushError",
        "RegistryError",
        "buildImage",
        "buildMultiPlatformImage",
        "checkEngine",
        "createBuildContext",
        "detectPythonVersion",
        "formatOutlierVersionName",
        "generateDefaultDockerfile",
        "getPrefectImageName",
        "parseImageReference",
        "parseImageTag",
        "pushImage",
        "pushImageDetailed",
        "pythonVersionMicro",
        "pythonVersionMinor",
        "registryOfImage",
        "resolveEngine",
        "resolvePrefectImageName",
        "resolveRegistryAuth",
        "splitRepositoryPath",
        "tagImage",
        "toRunCommand",
      ]
    `);
  });

  it("exports captureBuilders from prefect-dockerutils/testing", () => {
    expect(Object.keys(testing).sort()).toEqual(["CapturedBuilders", "captureBuilders"]);
  });

  it("exports the deployment steps from prefect-dockerutils/steps", () => {
    expect(Object.keys(steps).sort()).toEqual([
      "buildDockerImage",
      "clearStepCache",
      "pushDockerImage",
    ]);
  });

  it("exports dockerClient from prefect-dockerutils/dockerode", () => {
    expect(Object.keys(dockerode)).toEqual(["dockerClient"]);
  });

  it("exports the low-level pieces from prefect-dockerutils/engine, constants frozen", () => {
    expect(Object.keys(engine).sort()).toEqual([
      "DOCKER_HUB_KEY",
      "TRANSIENT_ERROR_PATTERNS",
      "isTransientError",
      "registryAuthHeader",
      "registryConfigHeader",
    ]);
    expect(Object.isFrozen(engine.TRANSIENT_ERROR_PATTERNS)).toBe(true);
    expect(() => (engine.TRANSIENT_ERROR_PATTERNS as string[]).push("anything")).toThrow(TypeError);
    expect(engine.TRANSIENT_ERROR_PATTERNS).toHaveLength(7);
    expect(engine.DOCKER_HUB_KEY).toBe("https://index.docker.io/v1/");
  });

  it("has IMAGE_LABELS and CONTAINER_LABELS with the targeted Prefect version", () => {
    expect(api.IMAGE_LABELS["io.prefect.version"]).toBe(api.PREFECT_VERSION);
    expect(api.CONTAINER_LABELS).toEqual({ "io.prefect.version": api.PREFECT_VERSION });
  });
});

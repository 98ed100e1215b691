import { describe, expect, it } from "vitest";
import * as dockerode from "../src/dockerode.js";
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
        "DOCKER_HUB_KEY",
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
        "TRANSIENT_ERROR_PATTERNS",
        "buildImage",
        "buildMultiPlatformImage",
        "checkEngine",
        "createBuildContext",
        "detectPythonVersion",
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
      "DENIED_MESSAGE_HINT",
      "buildDockerImage",
      "clearStepCache",
      "pushDockerImage",
    ]);
  });

  it("exports dockerClient from prefect-dockerutils/dockerode", () => {
    expect(Object.keys(dockerode)).toEqual(["dockerClient"]);
  });

  it("has IMAGE_LABELS and CONTAINER_LABELS with the targeted Prefect version", () => {
    expect(api.IMAGE_LABELS["io.prefect.version"]).toBe(api.PREFECT_VERSION);
    expect(api.CONTAINER_LABELS).toEqual({ "io.prefect.version": api.PREFECT_VERSION });
  });
});

// The integration tests the podman project runs but leaves out, by name, each with the reason: they
// assert what only Docker's engine does or says. What they cover for the library is covered on
// Podman by podman-api.test.ts or by the Podman variants of their assertions (support.ts).
// setup-podman.ts skips them; .ci/summary.mjs allows exactly these skips in the podman project
// and fails when one of them is no longer there to skip.

const DOCKER_TEXT = "asserts Docker's own message text; Podman's says the same in other words";
const LAYER_LINES =
  "asserts Docker's per-layer push progress (Preparing, Pushing [==>], Layer already exists); Podman sends only the repository line and the digest line";
const EVENT_LOG =
  "counts image events in the engine's event log, where Podman's API service records no push or build of images";
const ABORTED_BUILD =
  "aborts a build during a 30 s RUN: Podman goes on with a build whose client went away, so the RUN would hold the file's base image (removed after the file) and a CPU for 30 s after the test";
const LOOPBACK_REGISTRY =
  "uses a registry on a port of its own on 127.0.0.1: Docker treats all of 127.0.0.0/8 as insecure, Podman only what registries.conf lists, read when its service starts";

/** `[file (under test/integration, without .test.ts), full test name, reason]`. */
export const PODMAN_EXCLUDED = [
  [
    "cli-build",
    "prefect-dockerutils build (classic builder) > passes --build-arg, --target and --network to the build",
    "Podman 4.3's Docker-compatible build ignores networkmode: RUN steps run in the host's network namespace",
  ],
  [
    "cli-build",
    "prefect-dockerutils build (classic builder) > exits 1 with the engine's message, the failing step and the log tail when a RUN fails",
    DOCKER_TEXT,
  ],
  [
    "cli-build",
    "prefect-dockerutils build (classic builder) > exits 1 with the engine's message for a Dockerfile it cannot parse",
    DOCKER_TEXT,
  ],
  [
    "cli-build",
    "prefect-dockerutils build (classic builder) > removes the generated Dockerfile also when the build fails",
    DOCKER_TEXT,
  ],
  [
    "cli-build",
    "prefect-dockerutils build (classic builder) > removes the generated Dockerfile when SIGINT cancels the build",
    "Podman does not stop a build when its client goes away: the RUN the test waits to see killed runs on",
  ],
  [
    "cli-build",
    "prefect-dockerutils build (classic builder) > reports a failure as a JSON line with --progress json",
    DOCKER_TEXT,
  ],
  [
    "cli-build",
    "prefect-dockerutils build --push and push > pushes an image with push IMAGE REGISTRY_URL NAME --tag and shows the layers",
    LAYER_LINES,
  ],
  [
    "cli-build",
    "prefect-dockerutils build --push and push > exits 1 for an image the engine does not have",
    DOCKER_TEXT,
  ],
  [
    "credentials-api",
    "pushImage's messages about logins and protocols > names the registry and the config it searched when the engine says no basic auth credentials",
    DOCKER_TEXT,
  ],
  [
    "credentials-api",
    "pushImage's messages about logins and protocols > says where a refused login came from",
    DOCKER_TEXT,
  ],
  [
    "deploy-docker-image",
    "DockerImage.build and push (test_deploy) > builds name:tag from the current directory with pull on, and pushes name:tag",
    `${EVENT_LOG}; and Podman reports the pull of the base image as output text, not as status messages`,
  ],
  [
    "deploy-docker-image",
    "DockerImage's progress stream > receives Prefect's push status lines (test_push_streams_progress)",
    LAYER_LINES,
  ],
  [
    "deploy-docker-image",
    "DockerImage without Prefect's bugs > leaves no Dockerfile behind when the build is aborted",
    ABORTED_BUILD,
  ],
  [
    "deploy-docker-image",
    "DockerImage without Prefect's bugs > leaves nothing in the user's folder when the process is killed mid-build",
    ABORTED_BUILD,
  ],
  [
    "deploy-docker-image",
    "DockerImage.push's credentials and errors > pushes with the Docker configuration's login for the registry, and logs nothing in",
    DOCKER_TEXT,
  ],
  [
    "deploy-docker-image",
    "DockerImage.push's credentials and errors > rejects with PushError when the image does not exist",
    DOCKER_TEXT,
  ],
  [
    "deploy-steps",
    "build_docker_image without Prefect's bugs > leaves no Dockerfile behind when the build fails or is aborted",
    ABORTED_BUILD,
  ],
  [
    "deploy-steps",
    "build_docker_image without Prefect's bugs > adds Prefect's hint to a denied pull (test_build_docker_image_denied_message_is_enhanced)",
    LOOPBACK_REGISTRY,
  ],
  [
    "deploy-steps",
    "push_docker_image > pushes the tag and every additional tag, streaming as it goes (test_push_docker_image_with_additional_tags)",
    EVENT_LOG,
  ],
  ...[
    "builds identical inputs once (test_cached_build_docker_image)",
    "builds every time with ignore_cache (test_uncached_build_docker_image)",
    "pushes identical inputs once (test_cached_push_docker_image)",
    "pushes every time with ignore_cache (test_uncached_push_docker_image)",
    "keeps the build's and the push's caches apart (test_avoids_aggressive_caching)",
  ].map((title) => [
    "deploy-steps",
    `the step cache (TestCachedSteps), counted in the engine's event log > ${title}`,
    EVENT_LOG,
  ]),
  [
    "image-builder-paths",
    "ImageBuilder sends nothing from outside baseDirectory > sends a copy() source that is itself a symlink as the link, as the docker CLI does",
    DOCKER_TEXT,
  ],
  [
    "image-builder-paths",
    "ImageBuilder paths in the Dockerfile > copies paths with spaces, quotes, $ and backslashes to exactly where they were meant",
    "Podman's Dockerfile parser (Buildah's) keeps the quotes and backslashes of a COPY path that Docker's parser removes",
  ],
  ["registry-pushes", "pushImage > streams progress to stdout", LAYER_LINES],
  ["registry-pushes", "pushImage > streams progress to a given stream", LAYER_LINES],
];

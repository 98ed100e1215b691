/**
 * The main job: assemble an image with ImageBuilder, build it on the local engine, run it, and
 * push it to the local registry. Run with `npm run example` after `scripts/test-services.sh`.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { dockerClient } from "../src/dockerode.js";
import { ImageBuilder, pushImage, toRunCommand } from "../src/index.js";

const registryUrl = process.env.PDU_EXAMPLE_REGISTRY ?? "http://127.0.0.1:5555";
const docker = dockerClient();

const project = await mkdtemp(path.join(tmpdir(), "pdu-example-"));
try {
  await writeFile(path.join(project, "hello.txt"), "Hello from prefect-dockerutils!\n");

  let imageId: string;
  {
    await using image = await new ImageBuilder("busybox", { baseDirectory: project }).open();
    image.addLine("WORKDIR /app");
    image.copy("hello.txt", "hello.txt");
    image.addLine(toRunCommand(["echo", "built at", new Date().toISOString()]));
    image.addLine('ENTRYPOINT [ "/bin/cat", "/app/hello.txt" ]');
    console.log(`Dockerfile:\n${image.dockerfileLines.join("\n")}\n`);
    imageId = await image.build({
      streamProgressTo: process.stdout,
      onProgress: (event) => {
        if (event.type === "step") console.log(`  [step ${event.step} of ${event.totalSteps}]`);
      },
    });
  }
  console.log(`\nBuilt ${imageId}`);

  // Tty: the logs come back as plain text instead of multiplexed frames.
  const container = await docker.createContainer({
    Image: imageId,
    Tty: true,
    HostConfig: { NetworkMode: "none" },
  });
  await container.start();
  await container.wait();
  const logs = await container.logs({ stdout: true });
  await container.remove();
  console.log(`The image says: ${logs.toString("utf8").trim()}`);

  const reference = await pushImage(imageId, registryUrl, "prefect-dockerutils/hello", {
    streamProgressTo: process.stdout,
  });
  console.log(`Pushed ${reference}`);
  await docker
    .getImage(imageId)
    .remove({ force: true })
    .catch(() => undefined);
} finally {
  await rm(project, { recursive: true, force: true });
}

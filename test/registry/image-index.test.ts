import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  OCI_CONFIG_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_LAYER_GZIP_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  ociImageIndex,
  ociImageManifest,
  sha256Digest,
} from "../../src/registry/image-index.js";
import { parsePlatform } from "../../src/registry/platform.js";

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

describe("ociImageManifest", () => {
  it("lists the config and the layers in order, with the OCI media types", () => {
    const config = { mediaType: OCI_CONFIG_MEDIA_TYPE, digest: digest(1), size: 449 };
    const layers = [
      { mediaType: OCI_LAYER_GZIP_MEDIA_TYPE, digest: digest(2), size: 120 },
      { mediaType: OCI_LAYER_GZIP_MEDIA_TYPE, digest: digest(3), size: 4096 },
    ];
    const { bytes, descriptor } = ociImageManifest(config, layers);
    expect(JSON.parse(bytes.toString("utf8"))).toEqual({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config,
      layers,
    });
    expect(descriptor).toEqual({
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
      size: bytes.length,
    });
  });

  it("carries only the descriptor fields, whatever else the objects hold", () => {
    const extra = { mediaType: OCI_CONFIG_MEDIA_TYPE, digest: digest(1), size: 1, file: "/tmp/x" };
    const { bytes } = ociImageManifest(extra, []);
    expect(bytes.toString("utf8")).not.toContain("/tmp/x");
  });
});

describe("ociImageIndex", () => {
  it("lists each platform's manifest with its platform, variant only when there is one", () => {
    const amd64 = { mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: digest(4), size: 401 };
    const arm = { mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: digest(5), size: 402 };
    const { bytes, descriptor } = ociImageIndex([
      { ...amd64, platform: parsePlatform("linux/amd64") },
      { ...arm, platform: parsePlatform("linux/arm/v7") },
    ]);
    expect(JSON.parse(bytes.toString("utf8"))).toEqual({
      schemaVersion: 2,
      mediaType: OCI_INDEX_MEDIA_TYPE,
      manifests: [
        { ...amd64, platform: { architecture: "amd64", os: "linux" } },
        { ...arm, platform: { architecture: "arm", os: "linux", variant: "v7" } },
      ],
    });
    expect(descriptor.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(descriptor.digest).toBe(sha256Digest(bytes));
    expect(descriptor.size).toBe(bytes.length);
  });

  it("gives the same bytes, so the same digest, for the same manifests", () => {
    const entry = {
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      digest: digest(6),
      size: 1,
      platform: parsePlatform("linux/arm64"),
    };
    expect(ociImageIndex([entry]).descriptor.digest).toBe(ociImageIndex([entry]).descriptor.digest);
  });
});

/**
 * The OCI documents a multi-platform push writes: one image manifest per platform and the image
 * index that lists them (OCI image-spec `manifest.md` and `image-index.md`).
 * @module
 */

import { crypto } from "../lazy-builtins.js";
import type { Platform } from "./platform.js";

/** The image index (a multi-platform image). */
export const OCI_INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
/** One platform's image manifest. */
export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
/** The image configuration. */
export const OCI_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json";
/** A gzip-compressed layer. */
export const OCI_LAYER_GZIP_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";

/** A content descriptor: what a manifest says about a blob or another manifest. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** An index entry: a platform's manifest. */
export interface PlatformDescriptor extends Descriptor {
  readonly platform: Platform;
}

/** `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${crypto().createHash("sha256").update(bytes).digest("hex")}`;
}

/** A document's bytes with its descriptor, ready to be PUT. */
export interface EncodedDocument {
  readonly bytes: Buffer;
  readonly descriptor: Descriptor;
}

function encode(mediaType: string, document: unknown): EncodedDocument {
  const bytes = Buffer.from(JSON.stringify(document), "utf8");
  return { bytes, descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.length } };
}

function plain(descriptor: Descriptor): Descriptor {
  return { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size };
}

/** One platform's OCI image manifest, its layers lowest first. */
export function ociImageManifest(
  config: Descriptor,
  layers: readonly Descriptor[],
): EncodedDocument {
  return encode(OCI_MANIFEST_MEDIA_TYPE, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    config: plain(config),
    layers: layers.map(plain),
  });
}

/**
 * The OCI image index listing each platform's manifest, in the order given. No attestation
 * manifests: BuildKit makes none for images it stores in the engine.
 */
export function ociImageIndex(manifests: readonly PlatformDescriptor[]): EncodedDocument {
  return encode(OCI_INDEX_MEDIA_TYPE, {
    schemaVersion: 2,
    mediaType: OCI_INDEX_MEDIA_TYPE,
    manifests: manifests.map((manifest) => ({
      ...plain(manifest),
      platform: {
        architecture: manifest.platform.architecture,
        os: manifest.platform.os,
        ...(manifest.platform.variant === undefined ? {} : { variant: manifest.platform.variant }),
      },
    })),
  });
}

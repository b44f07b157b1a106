// This module is browser compatible.
/**
 * Types of the OCI image spec and the Docker v2 formats as tug reads them.
 *
 * @module
 */

/** A platform as an OCI index entry describes it (image-spec image-index.md, "platform"). */
export interface Platform {
  /** The CPU architecture, in Go's `GOARCH` spelling (`amd64`, `arm64`). */
  architecture: string;
  /** The operating system, in Go's `GOOS` spelling (`linux`, `windows`). */
  os: string;
  /** The CPU variant (`v7` for `arm/v7`, `v8` for `arm64/v8`). */
  variant?: string;
  /** The operating system version (Windows images: `10.0.20348.2113`). */
  "os.version"?: string;
  /** Operating system features the image needs (e.g. `win32k`). */
  "os.features"?: string[];
  /** Reserved by the image spec; kept as read. */
  features?: string[];
}

/** A content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  /** The media type of the referenced content. */
  mediaType: string;
  /** The digest of the referenced content (`algorithm:hex`). */
  digest: string;
  /** The size of the referenced content in bytes. */
  size: number;
  /** Other URLs the content may be downloaded from (foreign layers). */
  urls?: string[];
  /** Arbitrary metadata. */
  annotations?: Record<string, string>;
  /** The platform of the referenced manifest (in an index). */
  platform?: Platform;
  /** The artifact type of the referenced manifest, when it is an artifact. */
  artifactType?: string;
}

/** An OCI image manifest or a Docker schema2 manifest. */
export interface ImageManifest {
  /** Always 2. */
  schemaVersion: 2;
  /** The manifest's own media type (OCI or Docker schema2). */
  mediaType?: string;
  /** The artifact type, when the manifest describes an artifact. */
  artifactType?: string;
  /** The image configuration blob. */
  config: Descriptor;
  /** The layers, base first. */
  layers: Descriptor[];
  /** The manifest this one refers to (referrers API). */
  subject?: Descriptor;
  /** Arbitrary metadata. */
  annotations?: Record<string, string>;
}

/** An OCI image index or a Docker manifest list. */
export interface ImageIndex {
  /** Always 2. */
  schemaVersion: 2;
  /** The index's own media type (OCI index or Docker manifest list). */
  mediaType?: string;
  /** The artifact type, when the index describes an artifact. */
  artifactType?: string;
  /** The manifests it lists, usually one per platform. */
  manifests: Descriptor[];
  /** The manifest this one refers to (referrers API). */
  subject?: Descriptor;
  /** Arbitrary metadata. */
  annotations?: Record<string, string>;
}

/** The image configuration (image-spec config.md); only the fields tug reads are typed. */
export interface ImageConfig {
  /** When the image was created (RFC 3339). */
  created?: string;
  /** Who created the image. */
  author?: string;
  /** The CPU architecture the image runs on. */
  architecture: string;
  /** The operating system the image runs on. */
  os: string;
  /** The CPU variant. */
  variant?: string;
  /** The operating system version. */
  "os.version"?: string;
  /** The execution parameters a container runtime uses by default. */
  config?: {
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, unknown>;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  /** The layers' uncompressed digests (`diff_ids`), base first. */
  rootfs: { type: string; diff_ids: string[] };
  /** How each layer was built, base first. */
  history?: Array<{
    created?: string;
    created_by?: string;
    author?: string;
    comment?: string;
    empty_layer?: boolean;
  }>;
}

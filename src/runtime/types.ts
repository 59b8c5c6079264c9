// What the container runtime tells us about a container and its image.

export interface ContainerFacts {
  readonly id: string;
  // The image ID: the digest of the image config (sha256:...). This is what
  // the container runs, whatever names point where today.
  readonly imageId: string;
  // The reference the container was created from (Config.Image), e.g.
  // registry.example/app:1.2. Only a name: a local re-tag can move it.
  readonly imageRef: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env: readonly string[];
  readonly running: boolean;
  // PID of the container's first process (State.Pid), 0 when not running.
  readonly initPid: number;
}

export interface ImageFacts {
  readonly id: string;
  readonly repoDigests: readonly string[];
  readonly repoTags: readonly string[];
  // The image's platform, to pick the right entry of a multi-platform index.
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export type RuntimeKind = 'docker' | 'podman';

// The two calls the attestor needs from a Docker-compatible API.
export interface RuntimeClient {
  readonly kind: RuntimeKind;
  readonly endpoint: string;
  inspectContainer(id: string, signal: AbortSignal): Promise<ContainerFacts | undefined>;
  inspectImage(id: string, signal: AbortSignal): Promise<ImageFacts | undefined>;
}

// What the container runtime tells us about a container and its image.

export interface ContainerFacts {
  readonly id: string;
  // containerd only: the namespace the container lives in.
  readonly namespace?: string;
  // The image ID: the digest of the image config (sha256:...). This is what
  // the container runs, whatever names point where today. '' when the
  // container is not running (containerd proves it from the running one).
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

export type RuntimeKind = 'docker' | 'podman' | 'containerd';

// Which container to inspect: its ID and, when the cgroup path names it,
// its containerd namespace.
export interface ContainerKey {
  readonly id: string;
  readonly namespace?: string;
}

export interface Inspected {
  readonly container: ContainerFacts;
  // Undefined when the image was removed while the container kept running.
  readonly image: ImageFacts | undefined;
}

// What the attestor needs from a container runtime: one inspection.
export interface RuntimeClient {
  readonly kind: RuntimeKind;
  readonly endpoint: string;
  // undefined: the runtime knows no such container.
  inspect(key: ContainerKey, signal: AbortSignal): Promise<Inspected | undefined>;
  // Reports each container of this runtime as it starts (its task or first
  // process began), until `signal` aborts. Resolves when the runtime ends
  // the stream, rejects when it cannot be watched; the caller reconnects.
  // Only a hint to verify early: nothing reported here is trusted.
  watchStarts?(onStart: (key: ContainerKey) => void, signal: AbortSignal): Promise<void>;
  // Releases connections the client keeps open.
  close?(): void;
}

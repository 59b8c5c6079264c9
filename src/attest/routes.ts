// Which runtime serves a container, from the form of its cgroup path: the
// clients to ask, in order. The lists are built once (the warm path asks
// on every attestation).

import { socketPathOf, socketPresent } from '../runtime/socket.js';

import type { ContainerMatch } from '../process/index.js';
import type { ContainerKey, RuntimeClient } from '../runtime/types.js';

export interface RouteDeps {
  readonly docker: RuntimeClient;
  readonly podman: RuntimeClient;
  readonly containerd: RuntimeClient;
  // Whether a runtime's socket is there at all (default: lstat).
  readonly socketPresent?: (socketPath: string) => boolean;
}

// The runtime's key of a container found in a cgroup file.
export function keyOf(match: ContainerMatch): ContainerKey {
  return match.namespace === undefined ? { id: match.id } : { id: match.id, namespace: match.namespace };
}

export class RuntimeRoutes {
  readonly #deps: RouteDeps;
  // containerd is served at all (some namespace configured).
  readonly #containerd: boolean;
  readonly #lists: Readonly<Record<'docker' | 'podman' | 'containerd' | 'containerdThenDocker' | 'none', readonly RuntimeClient[]>>;

  constructor(deps: RouteDeps, containerdServed: boolean) {
    this.#deps = deps;
    this.#containerd = containerdServed;
    this.#lists = {
      docker: [deps.docker],
      podman: [deps.podman],
      containerd: [deps.containerd],
      containerdThenDocker: [deps.containerd, deps.docker],
      none: [],
    };
  }

  // Which runtimes may own a container of this cgroup form, in the order to
  // ask them. None: the form's runtime is not served (CRI-O; containerd
  // without a socket or namespaces), so the workload gets no selectors at once.
  for(match: ContainerMatch): readonly RuntimeClient[] {
    const lists = this.#lists;
    switch (match.runtimeHint) {
      case 'podman':
        return lists.podman;
      case 'docker':
      case 'unknown':
        return lists.docker;
      case 'containerd':
        return this.#containerdThere() ? lists.containerd : lists.none;
      case 'kubernetes': {
        // A kubelet's cgroupfs path names no runtime: containerd (CRI) first,
        // then Docker (cri-dockerd), whichever is there.
        const docker = this.#there(this.#deps.docker);
        if (this.#containerdThere()) return docker ? lists.containerdThenDocker : lists.containerd;
        return docker ? lists.docker : lists.none;
      }
      case 'crio':
        return lists.none;
    }
  }

  #containerdThere(): boolean {
    return this.#containerd && this.#there(this.#deps.containerd);
  }

  #there(client: RuntimeClient): boolean {
    return (this.#deps.socketPresent ?? socketPresent)(socketPathOf(client.endpoint));
  }
}

// Public surface of the PID -> container step.

export { MAX_CGROUP_BYTES, MAX_CGROUP_LINES, containerCgroupRoot, containerIdFromCgroups, containerIdFromPath, parseCgroupFile } from './cgroup.js';
export type { CgroupLine, ContainerMatch, RuntimeHint } from './cgroup.js';

export { assertValidPid, createProcReader, startTimeOfStat } from './procfs.js';
export type { ProcReader } from './procfs.js';

export { confirmInContainerCgroup, confirmSameCgroup, locateContainer, locateInText } from './locate.js';
export type { Located } from './locate.js';

export { ContainerLocator } from './locator.js';
export type { InitProcess } from './locator.js';

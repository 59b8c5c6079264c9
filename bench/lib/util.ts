// Small helpers shared by the phases and the orchestrator.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { messageOf } from '../../src/errors.js';

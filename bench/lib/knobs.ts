// The benchmark's counts and time caps (recorded as `knobs` in the JSON):
// every loop is bounded by one of these.

export const KNOBS = {
  warmCallsPerN: 2_000,
  warmConcurrency: [1, 16, 128],
  warmupCalls: 500,
  // 1. warm Attest from the Go client (bench/go/attestload) on the same
  // plugin process: N callers on one connection, each run bounded by a call
  // count and a wall-time cap, after its own warm-up calls.
  goClientConcurrency: [1, 16, 64],
  goClientCalls: 20_000,
  goClientCapS: 3,
  goClientWarmupCalls: 500,
  phaseCapMs: 60_000,
  coldSamples: 10,
  stampedeContainers: 20,
  stampedeCallsPerContainer: 10,
  footprintImages: 20,
  footprintAttests: 10_000,
  footprintConcurrency: 16,
  // How long the footprint phase leaves the plugin without calls after the
  // Attests before reading RSS again (V8 shrinks an idle heap on its own).
  footprintSettleMs: 20_000,
  handshakeRuns: 20,
  cosignSamples: 20,
  agentFetches: 40,
  agentWarmup: 2,
  profileCalls: 5_000,
  inProcessWarmCalls: 2_000,
  // 3b. fleet (simulated clock): images, their attestation period, the
  // simulated day, the outage, the restart's image count, the steady loop's
  // wall-time cap.
  fleetImages: 20,
  // Steady state: every image every 5 simulated s (345,600 attestations in
  // the simulated day, ~15-25 s of wall time; every 2 s was 35-65 s here); the
  // outage hour: every 2 simulated s.
  fleetAttestEveryS: 5,
  fleetOutageAttestEveryS: 2,
  fleetHours: 24,
  fleetOutageHours: 1,
  fleetRestartImages: 100,
  fleetWallCapMs: 90_000,
} as const;

// What the protocol layer needs from the product. main.ts passes an
// implementation in; the attestation code never imports anything from here.

export interface CoreConfig {
  trustDomain: string;
}

export interface ValidationResult {
  valid: boolean;
  notes: string[];
}

// What the protocol layer hands the product when spire-agent offers its
// Metrics host service: fire-and-forget, never throws.
export interface HostMetricsSink {
  incrCounter(key: readonly string[], value: number, labels: readonly { name: string; value: string }[]): void;
  addSample(key: readonly string[], value: number, labels: readonly { name: string; value: string }[]): void;
}

export interface PluginHost {
  // Parse, validate and apply plugin_data. Throws AttestorError on bad input;
  // the previous configuration stays in force when it does.
  configure(hclConfiguration: string, core: CoreConfig): Promise<void>;
  // The same checks without applying anything.
  validate(hclConfiguration: string, core: CoreConfig): Promise<ValidationResult>;
  // Selector values (no type prefix) for the workload with this PID. Must
  // stop and throw when `signal` aborts.
  attest(pid: number, signal: AbortSignal): Promise<readonly string[]>;
  // The same answer when it is known without waiting on anything (the
  // warm path: no timer, no cancellation to watch); undefined when attest()
  // has to run. Never throws.
  attestNow(pid: number): readonly string[] | undefined;
  // Where to send metrics from now on (undefined: nowhere).
  useMetrics(sink: HostMetricsSink | undefined): void;
  // Release resources; called on Deinit and before exit.
  close(): Promise<void>;
}

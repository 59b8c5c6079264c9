// SPIRE's services: private Init, Config and WorkloadAttestor v1.

import { status } from '@grpc/grpc-js';

import { AttestorError } from '../errors.js';
import { SERVICE } from './protos.js';
import { toStatus } from './status.js';

import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import type { CoreConfig, PluginHost } from './host.js';

// Names the agent binds: WorkloadAttestor (required) and Config (so that the
// agent calls Configure with plugin_data).
export const PLUGIN_SERVICE_NAMES: readonly string[] = [SERVICE.workloadAttestor, SERVICE.config];

// Used when the caller set no deadline; SPIRE always sets one in practice.
const DEFAULT_ATTEST_TIMEOUT_MS = 30_000;

export function initService(host: PluginHost, log: Logger, onHostServices: (names: readonly string[]) => void): UntypedServiceImplementation {
  return {
    Init(call: ServerUnaryCall<{ host_service_names: string[] }, object>, callback: sendUnaryData<{ plugin_service_names: readonly string[] }>): void {
      log.debug('init', { host_services: call.request.host_service_names.join(',') });
      callback(null, { plugin_service_names: PLUGIN_SERVICE_NAMES });
      onHostServices(call.request.host_service_names);
    },
    Deinit(_call: ServerUnaryCall<object, object>, callback: sendUnaryData<object>): void {
      host.close().then(
        () => callback(null, {}),
        (err: unknown) => callback(toStatus(err)),
      );
    },
  };
}

interface ConfigureRequest {
  core_configuration: { trust_domain: string } | null;
  hcl_configuration: string;
}

function coreConfig(request: ConfigureRequest): CoreConfig {
  return { trustDomain: request.core_configuration?.trust_domain ?? '' };
}

export function configService(host: PluginHost, log: Logger): UntypedServiceImplementation {
  return {
    Configure(call: ServerUnaryCall<ConfigureRequest, object>, callback: sendUnaryData<object>): void {
      const core = coreConfig(call.request);
      host.configure(call.request.hcl_configuration, core).then(
        () => {
          log.info('configured', { trust_domain: core.trustDomain });
          callback(null, {});
        },
        (err: unknown) => {
          const st = toStatus(err);
          log.error('configuration rejected', { error: st.details });
          callback(st);
        },
      );
    },
    Validate(call: ServerUnaryCall<ConfigureRequest, object>, callback: sendUnaryData<{ valid: boolean; notes: string[] }>): void {
      host.validate(call.request.hcl_configuration, coreConfig(call.request)).then(
        (result) => callback(null, result),
        (err: unknown) => callback(toStatus(err)),
      );
    },
  };
}

// Milliseconds until the call's deadline, or the default when there is none.
function remainingMs(call: ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return DEFAULT_ATTEST_TIMEOUT_MS;
  return Math.max(0, at - Date.now());
}

export function workloadAttestorService(host: PluginHost, log: Logger): UntypedServiceImplementation {
  return {
    Attest(call: ServerUnaryCall<{ pid: number }, object>, callback: sendUnaryData<{ selector_values: readonly string[] }>): void {
      const pid = call.request.pid;
      const started = performance.now();
      // A call already past its deadline takes the full path, which fails it.
      const known = remainingMs(call) > 0 ? host.attestNow(pid) : undefined;
      if (known !== undefined) {
        if (log.enabled?.('debug') ?? true) log.debug('attested', { pid, selectors: known.join(' '), duration_ms: (performance.now() - started).toFixed(2) });
        callback(null, { selector_values: known });
        return;
      }
      const controller = new AbortController();
      let answered = false;
      const answer = (err: { code: status; details: string } | null, selectors?: readonly string[]): void => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        // Stop whatever the pipeline still does; after a success it is done.
        if (err) controller.abort();
        const ms = (): string => (performance.now() - started).toFixed(2);
        if (err) {
          log.warn('attest failed', { pid, error: err.details, duration_ms: ms() });
          callback(err);
        } else {
          // The warm path: build the debug fields only when they are written.
          if (log.enabled?.('debug') ?? true) log.debug('attested', { pid, selectors: (selectors ?? []).join(' '), duration_ms: ms() });
          callback(null, { selector_values: selectors ?? [] });
        }
      };
      // Fail closed on the deadline: whatever the pipeline has found so far
      // is dropped, never returned.
      const timer = setTimeout(
        () => answer(toStatus(new AttestorError('DEADLINE_EXCEEDED', `attestation of pid ${pid} did not finish before the deadline`))),
        remainingMs(call),
      );
      call.on('cancelled', () => answer({ code: status.CANCELLED, details: 'attest call cancelled by the agent' }));
      host.attest(pid, controller.signal).then(
        (selectors) => answer(null, selectors),
        (err: unknown) => answer(toStatus(err)),
      );
    },
    // AttestReference is left unregistered: grpc-js answers UNIMPLEMENTED and
    // the agent falls back to Attest for PID references.
  };
}

// go-plugin's own services: broker, controller, stdio and health.

import type { ServerDuplexStream, ServerWritableStream, UntypedServiceImplementation, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';

import type { Logger } from '../log.js';

interface ConnInfo {
  service_id: number;
  network: string;
  address: string;
}

// SPIRE serves its host services at broker id 1.
export const HOST_SERVICES_BROKER_ID = 1;

// Told the ConnInfo of the host services (broker id 1) when it arrives.
export type HostServicesListener = (network: string, address: string) => void;

// The host opens the broker stream right after connecting and sends a
// ConnInfo for every service it accepts. The stream must stay open until the
// host ends it: answering or closing early makes the host's broker fail
// (racily) and the plugin load with it.
export function brokerService(onHostServices: HostServicesListener, log: Logger): UntypedServiceImplementation {
  return {
    StartStream(call: ServerDuplexStream<ConnInfo, ConnInfo>): void {
      call.on('data', (info: ConnInfo) => {
        log.debug('broker connection info', { service_id: info.service_id, network: info.network, address: info.address });
        if (info.service_id === HOST_SERVICES_BROKER_ID) onHostServices(info.network, info.address);
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  };
}

// Shutdown: reply first, then let the caller end the process.
export function controllerService(onShutdown: () => void): UntypedServiceImplementation {
  return {
    Shutdown(_call: ServerUnaryCall<object, object>, callback: sendUnaryData<object>): void {
      callback(null, {});
      setImmediate(onShutdown);
    },
  };
}

// The host copies whatever arrives here into its own stdout/stderr (SPIRE
// discards it). We log through stderr instead, so the stream stays open and
// silent until the host closes it.
export function stdioService(): UntypedServiceImplementation {
  return {
    StreamStdio(call: ServerWritableStream<object, object>): void {
      call.on('cancelled', () => call.end());
      call.on('error', () => undefined);
    },
  };
}

const SERVING = 'SERVING';
const SERVICE_UNKNOWN = 'SERVICE_UNKNOWN';

// go-plugin marks the service name "plugin" as serving; "" is the server.
export function healthService(): UntypedServiceImplementation {
  const statusOf = (service: string): string => (service === 'plugin' || service === '' ? SERVING : SERVICE_UNKNOWN);
  return {
    Check(call: ServerUnaryCall<{ service: string }, object>, callback: sendUnaryData<{ status: string }>): void {
      callback(null, { status: statusOf(call.request.service) });
    },
    Watch(call: ServerWritableStream<{ service: string }, { status: string }>): void {
      call.write({ status: statusOf(call.request.service) });
      call.on('cancelled', () => call.end());
      call.on('error', () => undefined);
    },
  };
}

// How our decoded protobuf messages look and how their bytes are read, for
// both kinds of decoder: the plugin protocol's compiled code
// (plugin/protos.ts) and the .proto sets loaded on first use (protos.ts).
// It imports nothing, so the handshake path that uses it stays light.

// Field names as written; longs and enums as strings, defaults filled in,
// the set oneof's name: what every handler and wire reader expects.
export const PROTO_LOAD_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

// The same, as protobufjs' toObject takes them.
const { keepCase: _keepCase, ...conversion } = PROTO_LOAD_OPTIONS;
export const TO_OBJECT_OPTIONS = conversion;

// As a plain Uint8Array: protobufjs reads a Buffer leniently (a string field
// longer than the bytes left is cut short), anything else strictly.
export function strictBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

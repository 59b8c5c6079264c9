// containerd's replies are decoded strictly (a truncated field is an error,
// never a shortened value), and bytes fields still reach wire.ts intact.

import { describe, expect, it } from 'vitest';

import { methodOf } from '../../../src/runtime/containerd/protos.js';
import { readChunk } from '../../../src/runtime/containerd/wire.js';

describe('containerd protos', () => {
  it('a reply whose string field is longer than the bytes left is an error', () => {
    const get = methodOf('containers', 'Get');
    // GetContainerResponse.container (1) { id (1): claims 10 bytes, has 3 }.
    const truncated = Buffer.from([0x0a, 5, 0x0a, 10, 0x61, 0x62, 0x63]);
    expect(() => get.responseDeserialize(truncated)).toThrow();
    const whole = Buffer.from([0x0a, 5, 0x0a, 3, 0x61, 0x62, 0x63]);
    expect(get.responseDeserialize(whole)).toMatchObject({ container: { id: 'abc' } });
  });

  it('a Read chunk keeps its bytes (decoded as a Uint8Array, read as a Buffer)', () => {
    const read = methodOf('content', 'Read');
    // ReadContentResponse { offset (1) = 7, data (2) = "hi!" }.
    const reply = read.responseDeserialize(Buffer.from([0x08, 7, 0x12, 3, 0x68, 0x69, 0x21]));
    const chunk = readChunk(reply);
    expect(chunk.offset).toBe(7);
    expect(Buffer.isBuffer(chunk.data)).toBe(true);
    expect(chunk.data.toString('utf8')).toBe('hi!');
  });
});

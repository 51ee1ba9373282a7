// Decoder for the `moby.buildkit.trace` messages of a BuildKit build through the Engine API (`POST /build?version=2`).
// Each is `{"id":"moby.buildkit.trace","aux":"<base64>"}`, the base64 of a protobuf `moby.buildkit.v1.StatusResponse`
// (moby/buildkit api/services/control/control.proto):
//
//   message StatusResponse { repeated Vertex vertexes = 1; repeated VertexStatus statuses = 2;
//                            repeated VertexLog logs = 3; repeated VertexWarning warnings = 4; }
//   message Vertex { string digest = 1; repeated string inputs = 2; string name = 3; bool cached = 4;
//                    Timestamp started = 5; Timestamp completed = 6; string error = 7; ... }
//   message VertexStatus { string ID = 1; string vertex = 2; string name = 3; int64 current = 4; int64 total = 5; ... }
//   message VertexLog { string vertex = 1; Timestamp timestamp = 2; int64 stream = 3; bytes msg = 4; }
//   message VertexWarning { string vertex = 1; int64 level = 2; bytes short = 3; repeated bytes detail = 4; ... }
//   message Timestamp { int64 seconds = 1; int32 nanos = 2; }
//
// Only these fields are read; everything else is skipped by wire type, so newer daemons that add fields still decode.
// The bytes come from the daemon: every length is bounds-checked and a malformed message throws ProtoError.

export class ProtoError extends Error {
  override readonly name = 'ProtoError';
}

// ---- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ----

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** A cursor over one message's bytes. */
class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array, private readonly end = buf.length) {}

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Base-128 varint, up to 64 bits; returned as a JS number (exact up to 2^53, enough for times and sizes). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  /** A field key: [field number, wire type]. */
  key(): [number, number] {
    const k = this.varint();
    return [Math.floor(k / 8), k & 7];
  }

  /** The bytes of a length-delimited field. */
  bytes(): Uint8Array {
    const len = this.varint();
    if (len > this.end - this.pos) throw new ProtoError(`length ${len} runs past the end of the message`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_I32:
        this.advance(4);
        return;
      default:
        throw new ProtoError(`unsupported wire type ${wire}`); // groups (3, 4) are not used by these messages
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new ProtoError('truncated fixed-size field');
    this.pos += n;
  }
}

/** Reads every field of a message, calling `on` with a reader positioned on the value; `on` returns false to skip. */
function readMessage(buf: Uint8Array, on: (field: number, wire: number, r: Reader) => boolean): void {
  const r = new Reader(buf);
  while (!r.done()) {
    const [field, wire] = r.key();
    if (field === 0) throw new ProtoError('field number 0');
    if (!on(field, wire, r)) r.skip(wire);
  }
}

// ---- StatusResponse ----

export interface TraceVertex {
  readonly digest: string;
  readonly inputs: readonly string[];
  readonly name: string;
  readonly cached: boolean;
  /** Epoch ms; null when not started / not completed yet. */
  readonly started: number | null;
  readonly completed: number | null;
  readonly error: string;
}

export interface TraceStatus {
  readonly id: string;
  readonly vertex: string;
  readonly name: string;
  readonly current: number;
  readonly total: number;
}

export interface TraceLog {
  readonly vertex: string;
  /** 1 = stdout, 2 = stderr. */
  readonly stream: number;
  readonly msg: string;
}

export interface TraceWarning {
  readonly vertex: string;
  readonly short: string;
}

export interface StatusResponse {
  readonly vertexes: TraceVertex[];
  readonly statuses: TraceStatus[];
  readonly logs: TraceLog[];
  readonly warnings: TraceWarning[];
}

function timestampMs(buf: Uint8Array): number {
  let seconds = 0;
  let nanos = 0;
  readMessage(buf, (field, wire, r) => {
    if (wire !== WIRE_VARINT) return false;
    if (field === 1) seconds = r.varint();
    else if (field === 2) nanos = r.varint();
    else return false;
    return true;
  });
  return seconds * 1000 + Math.floor(nanos / 1e6);
}

/** Reads a LEN field into `set` when the wire type is right; otherwise leaves it to be skipped. */
function lenField(wire: number, r: Reader, set: (b: Uint8Array) => void): boolean {
  if (wire !== WIRE_LEN) return false;
  set(r.bytes());
  return true;
}

function decodeVertex(buf: Uint8Array): TraceVertex {
  let digest = '';
  const inputs: string[] = [];
  let name = '';
  let cached = false;
  let started: number | null = null;
  let completed: number | null = null;
  let error = '';
  const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
  readMessage(buf, (field, wire, r) => {
    switch (field) {
      case 1: return lenField(wire, r, (b) => { digest = text(b); });
      case 2: return lenField(wire, r, (b) => { inputs.push(text(b)); });
      case 3: return lenField(wire, r, (b) => { name = text(b); });
      case 4:
        if (wire !== WIRE_VARINT) return false;
        cached = r.varint() !== 0;
        return true;
      case 5: return lenField(wire, r, (b) => { started = timestampMs(b); });
      case 6: return lenField(wire, r, (b) => { completed = timestampMs(b); });
      case 7: return lenField(wire, r, (b) => { error = text(b); });
      default: return false;
    }
  });
  return { digest, inputs, name, cached, started, completed, error };
}

function decodeStatus(buf: Uint8Array): TraceStatus {
  let id = '';
  let vertex = '';
  let name = '';
  let current = 0;
  let total = 0;
  readMessage(buf, (field, wire, r) => {
    switch (field) {
      case 1: return lenField(wire, r, (b) => { id = Buffer.from(b).toString('utf8'); });
      case 2: return lenField(wire, r, (b) => { vertex = Buffer.from(b).toString('utf8'); });
      case 3: return lenField(wire, r, (b) => { name = Buffer.from(b).toString('utf8'); });
      case 4:
        if (wire !== WIRE_VARINT) return false;
        current = r.varint();
        return true;
      case 5:
        if (wire !== WIRE_VARINT) return false;
        total = r.varint();
        return true;
      default: return false;
    }
  });
  return { id, vertex, name, current, total };
}

function decodeLog(buf: Uint8Array): TraceLog {
  let vertex = '';
  let stream = 0;
  let msg = '';
  readMessage(buf, (field, wire, r) => {
    switch (field) {
      case 1: return lenField(wire, r, (b) => { vertex = Buffer.from(b).toString('utf8'); });
      case 3:
        if (wire !== WIRE_VARINT) return false;
        stream = r.varint();
        return true;
      case 4: return lenField(wire, r, (b) => { msg = Buffer.from(b).toString('utf8'); });
      default: return false;
    }
  });
  return { vertex, stream, msg };
}

function decodeWarning(buf: Uint8Array): TraceWarning {
  let vertex = '';
  let short = '';
  readMessage(buf, (field, wire, r) => {
    if (field === 1) return lenField(wire, r, (b) => { vertex = Buffer.from(b).toString('utf8'); });
    if (field === 3) return lenField(wire, r, (b) => { short = Buffer.from(b).toString('utf8'); });
    return false;
  });
  return { vertex, short };
}

export function decodeStatusResponse(buf: Uint8Array): StatusResponse {
  const out: StatusResponse = { vertexes: [], statuses: [], logs: [], warnings: [] };
  readMessage(buf, (field, wire, r) => {
    switch (field) {
      case 1: return lenField(wire, r, (b) => { out.vertexes.push(decodeVertex(b)); });
      case 2: return lenField(wire, r, (b) => { out.statuses.push(decodeStatus(b)); });
      case 3: return lenField(wire, r, (b) => { out.logs.push(decodeLog(b)); });
      case 4: return lenField(wire, r, (b) => { out.warnings.push(decodeWarning(b)); });
      default: return false;
    }
  });
  return out;
}

/** The `aux` of a `moby.buildkit.trace` message (a base64 string) → StatusResponse. */
export function decodeTraceAux(aux: unknown): StatusResponse {
  if (typeof aux !== 'string') throw new ProtoError('moby.buildkit.trace aux is not a string');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(aux)) throw new ProtoError('moby.buildkit.trace aux is not base64');
  return decodeStatusResponse(Buffer.from(aux, 'base64'));
}

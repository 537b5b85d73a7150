// PCM16 little-endian conversion, fixed-size framing and levels, for worklets, pages and node.

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// One float sample in -1..1 as a 16-bit integer, clipped and rounded.
export function floatToInt16(value) {
  const clipped = value > 1 ? 1 : value < -1 ? -1 : value;
  return clipped < 0 ? Math.round(clipped * 0x8000) : Math.round(clipped * 0x7fff);
}

// Float samples to PCM16 samples.
export function floatToPcm16(samples) {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i += 1) out[i] = floatToInt16(samples[i]);
  return out;
}

// PCM16 little-endian bytes (an ArrayBuffer or a view of one) to float samples in -1..1.
export function pcm16ToFloat(data) {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const count = bytes.byteLength >> 1;
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 2 === 0) {
    const ints = new Int16Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i += 1) out[i] = ints[i] / 0x8000;
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
    for (let i = 0; i < count; i += 1) out[i] = view.getInt16(i * 2, true) / 0x8000;
  }
  return out;
}

// PCM16 samples as little-endian bytes, whatever the host's byte order.
export function pcm16Bytes(samples) {
  if (LITTLE_ENDIAN_HOST) {
    return samples.buffer.slice(samples.byteOffset, samples.byteOffset + samples.byteLength);
  }
  const buffer = new ArrayBuffer(samples.length * 2);
  const view = new DataView(buffer);
  for (let i = 0; i < samples.length; i += 1) view.setInt16(i * 2, samples[i], true);
  return buffer;
}

// Cuts a stream of float samples into PCM16 frames of exactly `frameSamples` samples.
export class Pcm16Framer {
  constructor(frameSamples) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) {
      throw new RangeError(`frameSamples must be a positive whole number, not ${frameSamples}`);
    }
    this.frameSamples = frameSamples;
    this._frame = new Int16Array(frameSamples);
    this._fill = 0;
  }

  // Samples waiting for the next frame.
  get pending() {
    return this._fill;
  }

  // Add samples; returns the frames they complete, each a fresh little-endian ArrayBuffer.
  push(samples) {
    const frames = [];
    for (let i = 0; i < samples.length; i += 1) {
      this._frame[this._fill] = floatToInt16(samples[i]);
      this._fill += 1;
      if (this._fill === this.frameSamples) {
        frames.push(pcm16Bytes(this._frame));
        this._fill = 0;
      }
    }
    return frames;
  }

  // The partial frame (or null when empty), e.g. when capture stops.
  flush() {
    if (!this._fill) return null;
    const rest = pcm16Bytes(this._frame.subarray(0, this._fill));
    this._fill = 0;
    return rest;
  }
}

// Root-mean-square and peak of float samples.
export function levels(samples) {
  let sumSquares = 0;
  let peak = 0;
  for (let i = 0; i < samples.length; i += 1) {
    const value = samples[i];
    sumSquares += value * value;
    const magnitude = value < 0 ? -value : value;
    if (magnitude > peak) peak = magnitude;
  }
  return { rms: samples.length ? Math.sqrt(sumSquares / samples.length) : 0, peak };
}

// A level in dBFS mapped onto 0..1 for a meter: -60 dBFS and below is empty, 0 dBFS full.
export function meterFraction(rms, floorDb = -60) {
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db - floorDb) / -floorDb));
}

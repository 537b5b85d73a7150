// PCM16 conversion, framing and levels.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  floatToInt16,
  floatToPcm16,
  levels,
  meterFraction,
  Pcm16Framer,
  pcm16Bytes,
  pcm16ToFloat,
} from '../../static/js/pcm.js';
import { Resampler } from '../../static/js/resampler.js';
import { inBlocks, largestStep, measuredFrequency, sine } from './signals.mjs';

test('floats become PCM16 with full scale at both ends and clipping beyond', () => {
  assert.deepEqual(Array.from(floatToPcm16(new Float32Array([0, 1, -1, 0.5, -0.5, 2, -3]))), [0, 32767, -32768, 16384, -16384, 32767, -32768]);
  assert.equal(floatToInt16(1e-6), 0);
});

test('PCM16 bytes are little-endian', () => {
  const bytes = new Uint8Array(pcm16Bytes(new Int16Array([0x0102, -2])));
  assert.deepEqual(Array.from(bytes), [0x02, 0x01, 0xfe, 0xff]);
});

test('little-endian bytes decode to floats, also from an odd offset', () => {
  const raw = new Uint8Array([0xff, 0x00, 0x40, 0x00, 0xc0, 0xff, 0x7f]);
  assert.deepEqual(Array.from(pcm16ToFloat(raw.subarray(1, 7))), [0.5, -0.5, 32767 / 32768]);
  assert.deepEqual(Array.from(pcm16ToFloat(new Uint8Array([0x00, 0x80]).buffer)), [-1]);
});

test('a round trip through PCM16 is exact to within about one step', () => {
  // Positive samples scale by 32767 and decode by 32768: a gain error below one step.
  const signal = sine(24000, 330, 0.1, 0.9);
  const back = pcm16ToFloat(pcm16Bytes(floatToPcm16(signal)));
  signal.forEach((value, i) => assert.ok(Math.abs(value - back[i]) <= 1.5 / 32768));
});

test('the framer cuts exactly 40 ms frames at 24 kHz, whatever it is fed', () => {
  const framer = new Pcm16Framer(960);
  const frames = [];
  const signal = sine(24000, 1000, 0.5, 0.5);
  inBlocks(signal, [1, 64, 700, 2000, 5], (block) => {
    frames.push(...framer.push(block));
    return new Float32Array(0);
  });
  assert.equal(frames.length, 12);
  assert.ok(frames.every((frame) => frame.byteLength === 1920));
  const rest = framer.flush();
  assert.equal(rest.byteLength, (12000 - 12 * 960) * 2);
  assert.equal(framer.flush(), null);
  const joined = new Uint8Array(12000 * 2);
  [...frames, rest].reduce((offset, frame) => {
    joined.set(new Uint8Array(frame), offset);
    return offset + frame.byteLength;
  }, 0);
  const decoded = pcm16ToFloat(joined);
  signal.forEach((value, i) => assert.ok(Math.abs(value - decoded[i]) <= 1.5 / 32768));
});

test('the capture path: a 48 kHz sine in worklet blocks becomes clean 24 kHz PCM16 frames', () => {
  // What capture-worklet.js does, block by block.
  const resampler = new Resampler(48000, 24000);
  const framer = new Pcm16Framer(960);
  const frames = [];
  inBlocks(sine(48000, 1000, 1.0, 0.5), [128], (block) => {
    frames.push(...framer.push(resampler.process(block)));
    return new Float32Array(0);
  });
  assert.ok(frames.length >= 24);
  const joined = new Uint8Array(frames.length * 1920);
  frames.forEach((frame, i) => joined.set(new Uint8Array(frame), i * 1920));
  const decoded = pcm16ToFloat(joined).subarray(100);
  assert.ok(Math.abs(measuredFrequency(decoded, 24000) - 1000) < 0.05);
  // No clicks where one frame ends and the next begins.
  const smooth = 2 * Math.PI * (1000 / 24000) * 0.5;
  assert.ok(largestStep(decoded) <= smooth * 1.01 + 2 / 32768);
});

test('levels and the meter scale', () => {
  const { rms, peak } = levels(new Float32Array([0.5, -0.5, 0.5, -1]));
  assert.ok(Math.abs(rms - Math.sqrt(1.75 / 4)) < 1e-9);
  assert.equal(peak, 1);
  assert.equal(meterFraction(0), 0);
  assert.equal(meterFraction(1), 1);
  assert.ok(Math.abs(meterFraction(10 ** (-30 / 20)) - 0.5) < 1e-9); // -60 dBFS floor: -30 dBFS is half
  assert.equal(meterFraction(1e-4), 0);
});

// The resampler on its own: rates, frequency, aliasing and continuity across blocks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Resampler } from '../../static/js/resampler.js';
import { inBlocks, largestStep, measuredFrequency, rms, sine } from './signals.mjs';

// Render-quantum sized blocks as an AudioWorklet gets them, and awkward sizes around them.
const WORKLET_BLOCKS = [128];
const ODD_BLOCKS = [1, 127, 128, 3, 441, 960, 7, 2];

function resampleAll(inputRate, outputRate, samples, sizes = WORKLET_BLOCKS) {
  const resampler = new Resampler(inputRate, outputRate);
  const body = inBlocks(samples, sizes, (block) => resampler.process(block));
  const tail = resampler.flush();
  const out = new Float32Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}

// The steady part of an output: without the filter's start-up and wind-down transients.
function steady(samples, resampler) {
  const margin = Math.ceil((resampler.taps * resampler.up) / resampler.down) + 4;
  return samples.subarray(margin, samples.length - margin);
}

describe('a 48 kHz sine resampled to 24 kHz', () => {
  const input = sine(48000, 1000, 1.0, 0.5);
  const output = resampleAll(48000, 24000, input);
  const reference = new Resampler(48000, 24000);

  test('has half as many samples', () => {
    assert.equal(output.length, 24000);
  });

  test('keeps its frequency', () => {
    assert.ok(Math.abs(measuredFrequency(steady(output, reference), 24000) - 1000) < 0.05);
  });

  test('matches the ideal 24 kHz sine sample for sample, so it is neither delayed nor distorted', () => {
    const ideal = sine(24000, 1000, 1.0, 0.5);
    const body = steady(output, reference);
    const offset = (output.length - body.length) / 2;
    let worst = 0;
    for (let i = 0; i < body.length; i += 1) worst = Math.max(worst, Math.abs(body[i] - ideal[i + offset]));
    assert.ok(worst < 2e-3, `largest difference ${worst}`);
  });

  test('has no clicks at block boundaries', () => {
    const body = steady(output, reference);
    // A 1 kHz sine of amplitude 0.5 at 24 kHz moves at most 2π·1000/24000·0.5 per sample.
    const smooth = 2 * Math.PI * (1000 / 24000) * 0.5;
    assert.ok(largestStep(body) <= smooth * 1.01, `largest step ${largestStep(body)}`);
  });

  test('is the same whatever the block sizes', () => {
    const odd = resampleAll(48000, 24000, input, ODD_BLOCKS);
    const whole = resampleAll(48000, 24000, input, [input.length]);
    assert.equal(odd.length, output.length);
    for (let i = 0; i < output.length; i += 1) {
      assert.ok(Math.abs(odd[i] - output[i]) < 1e-6 && Math.abs(whole[i] - output[i]) < 1e-6, `sample ${i}`);
    }
  });
});

describe('other device rates', () => {
  for (const [inputRate, outputRate] of [
    [44100, 24000],
    [16000, 24000],
    [22050, 24000],
    [96000, 24000],
    [24000, 48000],
    [24000, 44100],
  ]) {
    test(`${inputRate} Hz to ${outputRate} Hz keeps a 440 Hz tone and its level`, () => {
      const input = sine(inputRate, 440, 0.5, 0.5);
      const output = resampleAll(inputRate, outputRate, input, ODD_BLOCKS);
      assert.equal(output.length, Math.ceil((input.length * outputRate) / inputRate));
      const body = steady(output, new Resampler(inputRate, outputRate));
      assert.ok(Math.abs(measuredFrequency(body, outputRate) - 440) < 0.05);
      assert.ok(Math.abs(rms(body) - 0.5 / Math.SQRT2) < 0.002, `rms ${rms(body)}`);
      const smooth = 2 * Math.PI * (440 / outputRate) * 0.5;
      assert.ok(largestStep(body) <= smooth * 1.01);
    });
  }

  test('a rate pair needing more than 1024 phases still converts accurately', () => {
    const input = sine(47999, 440, 0.5, 0.5);
    const output = resampleAll(47999, 24000, input, ODD_BLOCKS);
    const resampler = new Resampler(47999, 24000);
    assert.equal(resampler.exact, false);
    const body = steady(output, resampler);
    assert.ok(Math.abs(measuredFrequency(body, 24000) - 440) < 0.05);
    assert.ok(Math.abs(rms(body) - 0.5 / Math.SQRT2) < 0.002);
  });
});

describe('the low-pass filter', () => {
  test('keeps speech frequencies flat', () => {
    for (const frequency of [100, 1000, 4000, 8000]) {
      const body = steady(resampleAll(48000, 24000, sine(48000, frequency, 0.3, 0.5)), new Resampler(48000, 24000));
      const gainDb = 20 * Math.log10(rms(body) / (0.5 / Math.SQRT2));
      assert.ok(Math.abs(gainDb) < 0.1, `${frequency} Hz: ${gainDb.toFixed(3)} dB`);
    }
  });

  test('removes what would alias when downsampling', () => {
    for (const [rate, frequency] of [
      [48000, 15000],
      [48000, 20000],
      [44100, 14000],
      [44100, 21000],
    ]) {
      const body = steady(resampleAll(rate, 24000, sine(rate, frequency, 0.3, 0.5)), new Resampler(rate, 24000));
      const levelDb = 20 * Math.log10(rms(body) / (0.5 / Math.SQRT2));
      assert.ok(levelDb < -70, `${frequency} Hz at ${rate} Hz leaks at ${levelDb.toFixed(1)} dB`);
    }
  });

  test('removes the images when upsampling', () => {
    // A 24 kHz stream upsampled to 48 kHz must not gain energy above 12 kHz.
    const output = resampleAll(24000, 48000, sine(24000, 3000, 0.5, 0.5));
    const body = steady(output, new Resampler(24000, 48000));
    // Subtract the ideal 3 kHz tone fitted by least squares; what remains is images and noise.
    let sinSum = 0;
    let cosSum = 0;
    for (let i = 0; i < body.length; i += 1) {
      sinSum += body[i] * Math.sin((2 * Math.PI * 3000 * i) / 48000);
      cosSum += body[i] * Math.cos((2 * Math.PI * 3000 * i) / 48000);
    }
    const a = (2 * sinSum) / body.length;
    const b = (2 * cosSum) / body.length;
    const residual = body.map((value, i) => value - a * Math.sin((2 * Math.PI * 3000 * i) / 48000) - b * Math.cos((2 * Math.PI * 3000 * i) / 48000));
    const residualDb = 20 * Math.log10(rms(residual) / rms(body));
    assert.ok(residualDb < -60, `residual at ${residualDb.toFixed(1)} dB`);
  });
});

describe('streaming', () => {
  test('a long stream at 44.1 kHz comes out with exactly the right number of samples', () => {
    const resampler = new Resampler(44100, 24000);
    let produced = 0;
    const block = new Float32Array(128);
    const blocks = Math.floor((44100 * 60) / 128);
    for (let n = 0; n < blocks; n += 1) produced += resampler.process(block).length;
    const consumed = blocks * 128;
    produced += resampler.flush().length;
    assert.equal(produced, Math.ceil((consumed * 24000) / 44100));
  });

  test('holds back no more than its delay', () => {
    const resampler = new Resampler(48000, 24000);
    const out = resampler.process(new Float32Array(4800));
    assert.ok(2400 - out.length <= Math.ceil(resampler.delay / 2) + 1);
  });

  test('reset starts a new stream from silence', () => {
    const resampler = new Resampler(48000, 24000);
    resampler.process(sine(48000, 1000, 0.1));
    resampler.reset();
    const out = resampler.process(new Float32Array(960));
    assert.ok(out.every((value) => value === 0));
  });

  test('refuses rates that are not positive whole numbers', () => {
    assert.throws(() => new Resampler(0, 24000), RangeError);
    assert.throws(() => new Resampler(44100.5, 24000), RangeError);
  });
});

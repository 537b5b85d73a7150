// Audio thread: the microphone at whatever rate the device runs, resampled to 24 kHz PCM16 and
// posted to the page in frames of `frameMs` (40 ms by default), with the input level.
//
// Messages to the page: {type: 'frame', pcm: ArrayBuffer} and {type: 'level', rms, peak} about
// every 50 ms. From the page: {type: 'stop'} posts the last partial frame and ends the processor.

import { levels, Pcm16Framer } from './pcm.js';
import { Resampler } from './resampler.js';

const TARGET_RATE = 24000;
const LEVEL_MS = 50;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { frameMs = 40, targetRate = TARGET_RATE } = options.processorOptions || {};
    this.resampler = new Resampler(sampleRate, targetRate);
    this.framer = new Pcm16Framer(Math.round((targetRate * frameMs) / 1000));
    this.levelEvery = Math.round((sampleRate * LEVEL_MS) / 1000);
    this.levelSamples = 0;
    this.sumSquares = 0;
    this.peak = 0;
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data.type === 'stop') this.stop();
    };
  }

  stop() {
    if (!this.running) return;
    this.running = false;
    const rest = this.framer.flush();
    if (rest) this.port.postMessage({ type: 'frame', pcm: rest }, [rest]);
  }

  process(inputs) {
    if (!this.running) return false;
    const channels = inputs[0];
    if (!channels || !channels.length) return true; // not connected yet
    const mono = channels.length === 1 ? channels[0] : mixDown(channels);
    this.measure(mono);
    for (const frame of this.framer.push(this.resampler.process(mono))) {
      this.port.postMessage({ type: 'frame', pcm: frame }, [frame]);
    }
    return true;
  }

  measure(samples) {
    const { rms, peak } = levels(samples);
    this.sumSquares += rms * rms * samples.length;
    this.levelSamples += samples.length;
    this.peak = Math.max(this.peak, peak);
    if (this.levelSamples >= this.levelEvery) {
      const level = Math.sqrt(this.sumSquares / this.levelSamples);
      this.port.postMessage({ type: 'level', rms: level, peak: this.peak });
      this.levelSamples = 0;
      this.sumSquares = 0;
      this.peak = 0;
    }
  }
}

function mixDown(channels) {
  const out = new Float32Array(channels[0].length);
  for (const channel of channels) {
    for (let i = 0; i < out.length; i += 1) out[i] += channel[i] / channels.length;
  }
  return out;
}

registerProcessor('capture-processor', CaptureProcessor);

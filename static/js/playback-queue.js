// The assistant's voice waiting to be played: 24 kHz audio in, device-rate blocks out.
//
// Pure logic, so node can test it; playback-worklet.js runs it on the audio thread. Audio of
// every assistant item is resampled as one continuous stream (no clicks between chunks) and
// queued; each item remembers where its samples lie in the output, so the samples actually
// played tell exactly how many milliseconds of each item were heard.

import { Resampler } from './resampler.js';

export const SOURCE_RATE = 24000;

export class PlaybackQueue {
  // `outputRate`: the AudioContext's rate. Playback starts once `prebufferMs` are queued (or the
  // response has ended), which absorbs network jitter without audible gaps.
  constructor(outputRate, { prebufferMs = 60 } = {}) {
    this.outputRate = outputRate;
    this.prebuffer = Math.max(1, Math.round((outputRate * prebufferMs) / 1000));
    this.resampler = new Resampler(SOURCE_RATE, outputRate);
    this._chunks = [];
    this._offset = 0; // read position in the first chunk
    this.queued = 0; // output samples waiting
    this.emitted = 0; // output samples played, ever
    this._epoch = 0; // output index of the resampler's current input sample 0
    this._items = [];
    this._ended = false;
    this.playing = false;
  }

  // Queue float samples at 24 kHz belonging to assistant item `itemId`.
  push(itemId, samples) {
    const { up, down } = this.resampler;
    const sourceStart = this.resampler.inputCount;
    const sourceEnd = sourceStart + samples.length;
    let item = this._items[this._items.length - 1];
    if (!item || item.id !== itemId) {
      if (item) item.closed = true;
      item = { id: itemId, start: this._epoch + Math.ceil((sourceStart * up) / down), end: 0, sourceSamples: 0, closed: false };
      this._items.push(item);
    }
    item.closed = false;
    item.end = this._epoch + Math.ceil((sourceEnd * up) / down);
    item.sourceSamples += samples.length;
    this._ended = false;
    this._enqueue(this.resampler.process(samples));
  }

  // No more audio is coming for now (the response is done): queue the filter's tail and let a
  // short answer play even if it is below the prebuffer.
  end() {
    this._enqueue(this.resampler.flush());
    this._epoch = this.emitted + this.queued;
    this._ended = true;
    for (const item of this._items) item.closed = true;
  }

  // Fill `out` with the next samples; returns how many were real audio (the rest is silence).
  pull(out) {
    if (!this.playing) {
      if (this.queued >= this.prebuffer || (this._ended && this.queued > 0)) this.playing = true;
    }
    let written = 0;
    if (this.playing) {
      while (written < out.length && this._chunks.length) {
        const chunk = this._chunks[0];
        const count = Math.min(out.length - written, chunk.length - this._offset);
        out.set(chunk.subarray(this._offset, this._offset + count), written);
        written += count;
        this._offset += count;
        if (this._offset === chunk.length) {
          this._chunks.shift();
          this._offset = 0;
        }
      }
      this.queued -= written;
      this.emitted += written;
      if (!this.queued) this.playing = false; // finished, or starved until the prebuffer refills
    }
    out.fill(0, written);
    return written;
  }

  // Per item: milliseconds played so far and of audio received. Items closed and fully played are
  // reported one last time and then forgotten.
  progress() {
    const report = this._items.map((item) => this._stats(item));
    this._items = this._items.filter((item) => !(item.closed && this.emitted >= item.end));
    return report;
  }

  // Stop at once (barge-in): drop everything queued and report what each item got to play.
  flush() {
    const report = this._items.map((item) => this._stats(item));
    this._chunks = [];
    this._offset = 0;
    this.queued = 0;
    this.resampler.reset();
    this._epoch = this.emitted;
    this._items = [];
    this._ended = false;
    this.playing = false;
    return report;
  }

  _stats(item) {
    const played = Math.min(Math.max(this.emitted - item.start, 0), item.end - item.start);
    return {
      itemId: item.id,
      playedMs: Math.floor((played * 1000) / this.outputRate),
      receivedMs: Math.floor((item.sourceSamples * 1000) / SOURCE_RATE),
      finished: item.closed && this.emitted >= item.end,
    };
  }

  _enqueue(samples) {
    if (!samples.length) return;
    this._chunks.push(samples);
    this.queued += samples.length;
  }
}

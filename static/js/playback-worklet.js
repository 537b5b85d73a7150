// Audio thread: plays the assistant's 24 kHz voice at the AudioContext's rate, gap-free, and tells
// the page how many milliseconds of each assistant item were played.
//
// Messages from the page: {type: 'audio', itemId, pcm: ArrayBuffer (PCM16 LE, 24 kHz)},
// {type: 'end'} when a response is done, {type: 'flush'} to stop at once (barge-in).
// Messages to the page: {type: 'progress', playing, items} about every 50 ms while playing and
// whenever playback starts or stops, and {type: 'flushed', items} in answer to a flush.

import { pcm16ToFloat } from './pcm.js';
import { PlaybackQueue } from './playback-queue.js';

const REPORT_MS = 50;

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = new PlaybackQueue(sampleRate);
    this.reportEvery = Math.round((sampleRate * REPORT_MS) / 1000);
    this.sinceReport = 0;
    this.wasPlaying = false;
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(message) {
    if (message.type === 'audio') {
      this.queue.push(message.itemId, pcm16ToFloat(message.pcm));
    } else if (message.type === 'end') {
      this.queue.end();
    } else if (message.type === 'flush') {
      this.port.postMessage({ type: 'flushed', items: this.queue.flush() });
      this.wasPlaying = false;
    }
  }

  process(inputs, outputs) {
    const channels = outputs[0];
    const first = channels[0];
    const playing = this.queue.pull(first) > 0;
    for (let c = 1; c < channels.length; c += 1) channels[c].set(first);
    this.sinceReport += first.length;
    if (playing !== this.wasPlaying || (playing && this.sinceReport >= this.reportEvery)) {
      this.port.postMessage({ type: 'progress', playing, items: this.queue.progress() });
      this.sinceReport = 0;
      this.wasPlaying = playing;
    }
    return true;
  }
}

registerProcessor('playback-processor', PlaybackProcessor);

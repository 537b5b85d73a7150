// The playback queue: gap-free output and exact played milliseconds per assistant item.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PlaybackQueue } from '../../static/js/playback-queue.js';
import { Resampler } from '../../static/js/resampler.js';
import { concat, largestStep, sine } from './signals.mjs';

const QUANTUM = 128;

function pullAll(queue, quanta) {
  const out = [];
  for (let n = 0; n < quanta; n += 1) {
    const block = new Float32Array(QUANTUM);
    queue.pull(block);
    out.push(block);
  }
  return concat(out);
}

function chunks(samples, sizes) {
  const parts = [];
  for (let start = 0, n = 0; start < samples.length; n += 1) {
    parts.push(samples.subarray(start, start + sizes[n % sizes.length]));
    start += sizes[n % sizes.length];
  }
  return parts;
}

test('chunks of any size play as one continuous, click-free stream', () => {
  const voice = sine(24000, 440, 1.0, 0.5);
  const queue = new PlaybackQueue(48000);
  for (const chunk of chunks(voice, [2400, 7, 960, 4801])) queue.push('item_a', chunk);
  queue.end();
  const played = pullAll(queue, Math.ceil(96000 / QUANTUM) + 4);
  const reference = new Resampler(24000, 48000);
  const expected = concat([reference.process(voice), reference.flush()]);
  for (let i = 0; i < expected.length; i += 1) assert.ok(Math.abs(played[i] - expected[i]) < 1e-6, `sample ${i}`);
  assert.ok(played.subarray(expected.length).every((value) => value === 0));
  const smooth = 2 * Math.PI * (440 / 48000) * 0.5;
  assert.ok(largestStep(played.subarray(100, expected.length - 100)) <= smooth * 1.01);
});

test('it waits for the prebuffer, then reports played milliseconds per item', () => {
  const queue = new PlaybackQueue(44100, { prebufferMs: 60 });
  queue.push('item_a', new Float32Array(24 * 40).fill(0.1)); // 40 ms: below the prebuffer
  const first = new Float32Array(QUANTUM);
  assert.equal(queue.pull(first), 0);
  assert.equal(queue.playing, false);
  queue.push('item_a', new Float32Array(24 * 460).fill(0.1)); // 500 ms in all
  pullAll(queue, Math.round((44100 * 0.2) / QUANTUM)); // about 200 ms
  const [a] = queue.progress();
  assert.equal(a.itemId, 'item_a');
  assert.ok(Math.abs(a.playedMs - 200) <= 3, `played ${a.playedMs}`);
  assert.equal(a.receivedMs, 500);
  assert.equal(a.finished, false);
});

test('items that follow each other are accounted separately', () => {
  const queue = new PlaybackQueue(48000);
  queue.push('item_a', new Float32Array(24 * 300).fill(0.2));
  queue.push('item_b', new Float32Array(24 * 200).fill(0.2));
  queue.end();
  pullAll(queue, Math.ceil((48000 * 0.4) / QUANTUM)); // 400 ms: all of a, half of b
  const [a, b] = queue.progress();
  assert.deepEqual([a.itemId, a.playedMs, a.finished], ['item_a', 300, true]);
  assert.equal(b.itemId, 'item_b');
  assert.ok(Math.abs(b.playedMs - 100) <= 3, `played ${b.playedMs}`);
  // A finished item is reported once more, then forgotten.
  assert.deepEqual(queue.progress().map((item) => item.itemId), ['item_b']);
  pullAll(queue, 100);
  const [done] = queue.progress();
  assert.deepEqual([done.playedMs, done.finished], [200, true]);
  assert.deepEqual(queue.progress(), []);
});

test('flush stops at once, says what was played, and the next answer starts clean', () => {
  const queue = new PlaybackQueue(48000);
  queue.push('item_a', sine(24000, 300, 2.0, 0.5));
  pullAll(queue, Math.round((48000 * 0.5) / QUANTUM));
  const [a] = queue.flush();
  assert.equal(a.itemId, 'item_a');
  assert.ok(Math.abs(a.playedMs - 500) <= 3, `played ${a.playedMs}`);
  const after = new Float32Array(QUANTUM);
  assert.equal(queue.pull(after), 0);
  assert.ok(after.every((value) => value === 0));
  assert.deepEqual(queue.progress(), []);

  queue.push('item_b', new Float32Array(24 * 100).fill(0.25));
  queue.end();
  pullAll(queue, 80);
  const [b] = queue.progress();
  assert.deepEqual([b.itemId, b.playedMs, b.receivedMs, b.finished], ['item_b', 100, 100, true]);
});

test('a short answer below the prebuffer still plays once its response is done', () => {
  const queue = new PlaybackQueue(48000, { prebufferMs: 60 });
  queue.push('item_a', new Float32Array(24 * 20).fill(0.3));
  queue.end();
  const block = new Float32Array(QUANTUM);
  assert.equal(queue.pull(block), QUANTUM);
});

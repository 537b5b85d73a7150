// When the voice page reconnects, and what it tells a person when it cannot.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { microphoneProblem } from '../../static/js/audio-engine.js';
import { closeMessage, closeOutcome, RECONNECT_DELAYS_MS, voiceSocketUrl } from '../../static/js/voice-socket.js';

test('a dropped connection or a restarting server is reconnected', () => {
  for (const code of [1001, 1005, 1006, 1011, 1012, 1013, 4503]) assert.equal(closeOutcome(code), 'reconnect', `code ${code}`);
});

test('a normal end, a refusal, a limit or an upstream that failed for good ends the session', () => {
  for (const code of [1000, 4400, 4401, 4403, 4408, 4409, 4410, 4429, 4498, 4502]) {
    assert.equal(closeOutcome(code), 'ended', `code ${code}`);
  }
  assert.match(closeMessage(4401), /Log in again/);
  assert.equal(closeMessage(1006), '');
});

test('reconnecting backs off and gives up after a few tries', () => {
  assert.ok(RECONNECT_DELAYS_MS.length >= 3 && RECONNECT_DELAYS_MS.length <= 6);
  RECONNECT_DELAYS_MS.slice(1).forEach((delay, i) => assert.ok(delay > RECONNECT_DELAYS_MS[i]));
});

test('the socket URL follows the page scheme and resumes a conversation', () => {
  const id = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
  assert.equal(voiceSocketUrl({ protocol: 'https:', host: 'voice.example.com' }, '/ws/voice/', ''), 'wss://voice.example.com/ws/voice/');
  assert.equal(voiceSocketUrl({ protocol: 'http:', host: '127.0.0.1:8000' }, '/ws/voice/', id), `ws://127.0.0.1:8000/ws/voice/?conversation=${id}`);
});

test('microphone failures are explained in plain words', () => {
  assert.match(microphoneProblem({ name: 'NotAllowedError' }), /refused.*Allow the microphone/);
  assert.match(microphoneProblem({ name: 'NotFoundError' }), /No microphone was found/);
  assert.match(microphoneProblem({ name: 'NotReadableError' }), /another application/);
  assert.match(microphoneProblem({ name: 'SecurityError' }), /https/);
  assert.match(microphoneProblem({ name: 'Weird', message: 'boom' }), /\(boom\)/);
  for (const name of ['NotAllowedError', 'NotFoundError', 'Weird']) assert.match(microphoneProblem({ name }), /You can still type/);
});

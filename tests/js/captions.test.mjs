// The heard part of an interrupted answer, as the captions show it: the same rule history uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { heardText } from '../../static/js/captions.js';

test('the played share of the audio is the heard share of the text, in whole words', () => {
  // Mirrors tests/conversations/test_transcripts.py: "one two three four", 2000 ms of audio.
  assert.equal(heardText('one two three four', 1000, 2000), 'one two');
  assert.equal(heardText('one two three four', 2000, 2000), 'one two three four');
  assert.equal(heardText('one two three four', 5000, 2000), 'one two three four');
  assert.equal(heardText('one two three four', 300, 2000), '');
});

test('a word cut in half was not heard', () => {
  assert.equal(heardText('alpha beta gamma', 800, 1600), 'alpha'); // cut inside "beta"
  assert.equal(heardText('alpha beta', 300, 1000), ''); // cut inside the first word
});

test('nothing is heard without audio, time or text', () => {
  assert.equal(heardText('', 500, 1000), '');
  assert.equal(heardText('words', 0, 1000), '');
  assert.equal(heardText('words', 500, 0), '');
});

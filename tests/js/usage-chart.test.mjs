// The usage chart's data preparation.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { dailySeries, niceCeiling } from '../../static/js/usage-chart.js';

test('every day of the range is present, with zeros where nothing was used', () => {
  const rows = [{ day: '2025-03-02', input: 10, output: 5, cost: 0.01 }];
  const days = dailySeries(rows, '2025-03-01', '2025-03-04');
  assert.deepEqual(days.map((d) => d.day), ['2025-03-01', '2025-03-02', '2025-03-03', '2025-03-04']);
  assert.deepEqual(days.map((d) => d.input), [0, 10, 0, 0]);
});

test('ranges across a month end and over a year long keep the rows as they are', () => {
  assert.equal(dailySeries([], '2024-02-27', '2024-03-01').length, 4); // a leap day
  const rows = [{ day: '2020-01-01', input: 1, output: 1, cost: 0 }];
  assert.deepEqual(dailySeries(rows, '2020-01-01', '2023-01-01'), rows);
});

test('axis maxima are round numbers at or above the data', () => {
  assert.equal(niceCeiling(0), 1);
  assert.equal(niceCeiling(7), 10);
  assert.equal(niceCeiling(1265), 2000);
  assert.equal(niceCeiling(0.0348), 0.05);
  assert.equal(niceCeiling(500), 500);
});

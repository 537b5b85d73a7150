// Test signals and measurements shared by the JavaScript tests.

export function sine(rate, frequency, seconds, amplitude = 0.5, phase = 0) {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i += 1) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / rate + phase);
  return out;
}

// Run `samples` through `process` in blocks whose sizes cycle through `sizes`.
export function inBlocks(samples, sizes, process) {
  const parts = [];
  let start = 0;
  for (let n = 0; start < samples.length; n += 1) {
    const size = sizes[n % sizes.length];
    parts.push(process(samples.subarray(start, start + size)));
    start += size;
  }
  return concat(parts);
}

export function concat(parts) {
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function rms(samples) {
  let sum = 0;
  for (const value of samples) sum += value * value;
  return Math.sqrt(sum / samples.length);
}

// The frequency of a sine, from a least-squares fit of its upward zero crossings.
export function measuredFrequency(samples, rate) {
  const crossings = [];
  for (let i = 1; i < samples.length; i += 1) {
    if (samples[i - 1] < 0 && samples[i] >= 0) {
      crossings.push(i - 1 + samples[i - 1] / (samples[i - 1] - samples[i]));
    }
  }
  const periods = (crossings.length - 1);
  return (periods * rate) / (crossings[crossings.length - 1] - crossings[0]);
}

// The largest sample-to-sample step: a click shows up as a step far above the signal's own.
export function largestStep(samples) {
  let largest = 0;
  for (let i = 1; i < samples.length; i += 1) largest = Math.max(largest, Math.abs(samples[i] - samples[i - 1]));
  return largest;
}

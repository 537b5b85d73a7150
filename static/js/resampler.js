// Streaming sample-rate conversion with a Kaiser-windowed sinc filter.
//
// One module for the capture worklet (device rate -> 24 kHz), the playback worklet (24 kHz ->
// device rate) and `node --test`. The filter is a low-pass whose cutoff sits below the lower of
// the two Nyquist frequencies, so downsampling does not alias and upsampling leaves no images.
// Positions are kept as exact integer fractions (rates are whole numbers), so a long stream never
// drifts, and the last samples of each block are kept as history for the next one: processing a
// stream in blocks of any size gives the same samples as processing it in one piece.

const DEFAULT_ZERO_CROSSINGS = 16; // on each side of the kernel's centre
const DEFAULT_ROLLOFF = 0.9; // cutoff as a fraction of the lower Nyquist frequency
const DEFAULT_BETA = 8.6; // Kaiser window shape: about 80 dB of stopband attenuation
const MAX_EXACT_PHASES = 1024; // above this many phases, interpolate between table rows

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

// The zeroth-order modified Bessel function of the first kind, by its power series.
function besselI0(x) {
  let sum = 1;
  let term = 1;
  const quarterSquare = (x * x) / 4;
  for (let k = 1; k < 64; k += 1) {
    term *= quarterSquare / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function sinc(x) {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

function checkRate(name, rate) {
  if (!Number.isInteger(rate) || rate <= 0) {
    throw new RangeError(`${name} must be a positive whole number of hertz, not ${rate}`);
  }
}

export class Resampler {
  // `inputRate` and `outputRate` in Hz. Options tune the filter; the defaults suit speech.
  constructor(inputRate, outputRate, options = {}) {
    checkRate('inputRate', inputRate);
    checkRate('outputRate', outputRate);
    const {
      zeroCrossings = DEFAULT_ZERO_CROSSINGS,
      rolloff = DEFAULT_ROLLOFF,
      beta = DEFAULT_BETA,
    } = options;
    const divisor = gcd(inputRate, outputRate);
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    this.up = outputRate / divisor; // L: output samples per `down` input samples
    this.down = inputRate / divisor; // M
    // Cutoff in cycles per input sample.
    const cutoff = 0.5 * Math.min(1, this.up / this.down) * rolloff;
    this.half = Math.ceil(zeroCrossings / (2 * cutoff));
    this.taps = 2 * this.half;
    this.exact = this.up <= MAX_EXACT_PHASES;
    this.phases = this.exact ? this.up : MAX_EXACT_PHASES;
    this.table = this._buildTable(cutoff, beta);
    this._buffer = new Float32Array(4096);
    this.reset();
  }

  // Input samples between a sample going in and its output coming out.
  get delay() {
    return this.half;
  }

  // Forget the stream: the next sample is preceded by silence.
  reset() {
    this._length = this.half - 1; // history: zeros before the first sample
    this._buffer.fill(0, 0, this._length);
    this._position = 0; // numerator over `up`: the first tap of the next output, in buffer samples
    this.inputCount = 0; // since the last reset
    this.outputCount = 0;
  }

  // Resample one block; returns the output samples it completes (possibly none).
  process(input) {
    this._append(input);
    this.inputCount += input.length;
    return this._drain(Infinity);
  }

  // The outputs still held back for lack of later input, as if silence followed; then reset.
  flush() {
    const expected = Math.ceil((this.inputCount * this.up) / this.down);
    this._append(new Float32Array(this.taps));
    const tail = this._drain(Math.max(0, expected - this.outputCount));
    this.reset();
    return tail;
  }

  _buildTable(cutoff, beta) {
    // Row p holds the taps of an output lying p/phases of an input sample after its centre tap;
    // one extra row lets the interpolating mode read row p + 1.
    const rows = this.phases + 1;
    const table = new Float32Array(rows * this.taps);
    const norm = besselI0(beta);
    for (let p = 0; p < rows; p += 1) {
      const frac = p / this.phases;
      let sum = 0;
      for (let j = 0; j < this.taps; j += 1) {
        const distance = this.half - 1 + frac - j; // output time minus tap time, in input samples
        const x = distance / this.half;
        const window = Math.abs(x) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - x * x)) / norm;
        const value = 2 * cutoff * sinc(2 * cutoff * distance) * window;
        table[p * this.taps + j] = value;
        sum += value;
      }
      // Unity gain at DC for every phase, so a steady level never ripples.
      for (let j = 0; j < this.taps; j += 1) table[p * this.taps + j] /= sum;
    }
    return table;
  }

  _append(input) {
    const needed = this._length + input.length;
    if (needed > this._buffer.length) {
      let size = this._buffer.length;
      while (size < needed) size *= 2;
      const bigger = new Float32Array(size);
      bigger.set(this._buffer.subarray(0, this._length));
      this._buffer = bigger;
    }
    this._buffer.set(input, this._length);
    this._length = needed;
  }

  _drain(limit) {
    const { up, down, taps, table, phases, exact } = this;
    const buffer = this._buffer;
    // The last position whose taps all lie in the buffer.
    const lastPosition = (this._length - taps + 1) * up - 1;
    const available = lastPosition < this._position ? 0 : Math.floor((lastPosition - this._position) / down) + 1;
    const count = Math.min(limit, available);
    const output = new Float32Array(count);
    let position = this._position;
    for (let k = 0; k < count; k += 1) {
      const start = Math.floor(position / up);
      const remainder = position - start * up;
      let value;
      if (exact) {
        const row = remainder * taps;
        value = 0;
        for (let j = 0; j < taps; j += 1) value += buffer[start + j] * table[row + j];
      } else {
        const phase = (remainder / up) * phases;
        const p = Math.floor(phase);
        const a = phase - p;
        const row0 = p * taps;
        const row1 = row0 + taps;
        let v0 = 0;
        let v1 = 0;
        for (let j = 0; j < taps; j += 1) {
          const x = buffer[start + j];
          v0 += x * table[row0 + j];
          v1 += x * table[row1 + j];
        }
        value = v0 + a * (v1 - v0);
      }
      output[k] = value;
      position += down;
    }
    // Drop the input no later output needs; keep the positions small and exact.
    const consumed = Math.floor(position / up);
    buffer.copyWithin(0, consumed, this._length);
    this._length -= consumed;
    this._position = position - consumed * up;
    this.outputCount += count;
    return output;
  }
}

// The page's audio: one AudioContext at the device's own rate, the capture worklet for the
// microphone and the playback worklet for the assistant's voice.
//
// The context is never asked for 24 kHz: Firefox refuses to connect a microphone to a context
// of another rate, and the worklets convert between the device rate and 24 kHz themselves.

export class AudioUnavailable extends Error {}

// A plain explanation of why the microphone could not be opened.
export function microphoneProblem(error) {
  switch (error && error.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return 'Microphone access was refused. Allow the microphone for this site (the icon in the address bar), then press Start again. You can still type.';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Connect one and press Start again. You can still type.';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'The microphone could not be opened: another application may be using it. You can still type.';
    case 'SecurityError':
      return 'The microphone is blocked on this page: it needs a secure (https) connection. You can still type.';
    default:
      return `The microphone could not be opened${error && error.message ? ` (${error.message})` : ''}. You can still type.`;
  }
}

export class AudioEngine {
  // `onFrame(pcm)`: a 24 kHz PCM16 frame of the microphone; `onLevel(rms)`: the input level;
  // `onProgress({playing, items})`: playback progress; `onMicrophoneLost()`: the device went away.
  constructor({ captureUrl, playbackUrl, onFrame, onLevel, onProgress, onMicrophoneLost }) {
    Object.assign(this, { captureUrl, playbackUrl, onFrame, onLevel, onProgress, onMicrophoneLost });
    this.context = null;
    this.stream = null;
    this._flushWaiters = [];
  }

  get sampleRate() {
    return this.context ? this.context.sampleRate : 0;
  }

  // Create the context and the playback path; call from a click so the browser lets audio play.
  async start() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || !('audioWorklet' in Context.prototype)) {
      throw new AudioUnavailable('This browser cannot run the audio engine (AudioWorklet). Use a current Firefox, Chrome, Edge or Safari.');
    }
    if (!window.isSecureContext) {
      throw new AudioUnavailable('Audio needs a secure connection: open this site with https://.');
    }
    this.context = new Context({ latencyHint: 'interactive' });
    await Promise.all([this.context.audioWorklet.addModule(this.captureUrl), this.context.audioWorklet.addModule(this.playbackUrl)]);
    this.output = this.context.createGain();
    this.output.connect(this.context.destination);
    this.player = new AudioWorkletNode(this.context, 'playback-processor', {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
    });
    this.player.port.onmessage = (event) => this._fromPlayer(event.data);
    this.player.connect(this.output);
    await this.context.resume();
  }

  // Ask for the microphone and start capturing; throws the browser's error when it cannot.
  async openMicrophone() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw Object.assign(new Error('no getUserMedia'), { name: window.isSecureContext ? 'NotFoundError' : 'SecurityError' });
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    if (!this.context) return; // stopped while the permission prompt was open
    const [track] = this.stream.getAudioTracks();
    track.addEventListener('ended', () => this.onMicrophoneLost());
    this.source = this.context.createMediaStreamSource(this.stream);
    this.capture = new AudioWorkletNode(this.context, 'capture-processor', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      channelCount: 1,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
      processorOptions: { frameMs: 40 },
    });
    this.capture.port.onmessage = (event) => {
      const message = event.data;
      if (message.type === 'frame') this.onFrame(message.pcm);
      else if (message.type === 'level') this.onLevel(message.rms);
    };
    this.source.connect(this.capture);
    // The processor outputs silence; connecting it keeps it pulled by the graph in every browser.
    this.capture.connect(this.context.destination);
  }

  // Queue 24 kHz PCM16 audio of an assistant item.
  play(itemId, pcm) {
    if (this.player) this.player.port.postMessage({ type: 'audio', itemId, pcm }, [pcm]);
  }

  // The response is done: play what is left, even if short.
  endResponse() {
    if (this.player) this.player.port.postMessage({ type: 'end' });
  }

  // Stop playback at once; resolves with the played milliseconds of each item.
  flush() {
    if (!this.player) return Promise.resolve([]);
    this.output.gain.setValueAtTime(0, this.context.currentTime);
    return new Promise((resolve) => {
      this._flushWaiters.push(resolve);
      this.player.port.postMessage({ type: 'flush' });
    });
  }

  // Release the microphone and the audio device.
  async stop() {
    if (this.capture) this.capture.port.postMessage({ type: 'stop' });
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    const context = this.context;
    this.context = null;
    this.player = null;
    this.capture = null;
    this.stream = null;
    this._flushWaiters.splice(0).forEach((resolve) => resolve([]));
    if (context && context.state !== 'closed') await context.close();
  }

  _fromPlayer(message) {
    if (message.type === 'flushed') {
      if (this.output && this.context) this.output.gain.setValueAtTime(1, this.context.currentTime);
      const resolve = this._flushWaiters.shift();
      if (resolve) resolve(message.items);
    } else if (message.type === 'progress') {
      this.onProgress(message);
    }
  }
}

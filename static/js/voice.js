// The voice page: start and stop a session, talk, interrupt, type, and see both sides captioned.
//
// State for people is in the status line; for tests and tools it is mirrored on the root
// element's data attributes (state, conversation id, played milliseconds, interrupts sent) and
// the controller is `window.voiceChat`.

import { AudioEngine, microphoneProblem } from './audio-engine.js';
import { Captions } from './captions.js';
import { meterFraction } from './pcm.js';
import { closeMessage, VoiceSocket } from './voice-socket.js';

const STATE_LABELS = {
  idle: 'Ready. Press Start to talk.',
  connecting: 'Connecting…',
  listening: 'Listening',
  'user-speaking': 'You are speaking',
  'assistant-speaking': 'Assistant speaking',
  reconnecting: 'Connection lost. Reconnecting…',
  ended: 'Conversation ended',
};
const MAX_TYPED_CHARS = 4000;

class VoiceChat {
  constructor(root) {
    this.root = root;
    const find = (selector) => root.querySelector(selector);
    this.ui = {
      start: find('#voice-start'),
      stop: find('#voice-stop'),
      status: find('#voice-status-text'),
      meter: find('#voice-meter'),
      meterLabel: find('#voice-meter-label'),
      meterBar: find('#voice-meter .meter-bar'),
      error: find('#voice-error'),
      notice: find('#voice-notice'),
      form: find('#typed-turn'),
      input: find('#typed-text'),
      send: find('#typed-turn button[type=submit]'),
      ended: find('#voice-ended'),
      historyLink: find('#voice-ended-history'),
      continueLink: find('#voice-ended-continue'),
    };
    this.captions = new Captions(find('#captions'));
    this.resumeId = root.dataset.resumeId || '';
    this.connection = 'idle';
    this.userSpeaking = false;
    this.assistantPlaying = false;
    this.items = new Map(); // assistant item id -> {responseId, responseDone, finished}
    this.played = new Map(); // assistant item id -> played ms (kept for the whole session)
    this.dropped = new Set(); // interrupted items whose late audio is discarded
    this.currentItem = null;
    this.interrupts = 0;
    this.framesSent = 0;
    this._lastMeter = -1;
    this.ui.start.addEventListener('click', () => this.start());
    this.ui.stop.addEventListener('click', () => this.stop());
    this.ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendTyped();
    });
    // Leaving the page ends the conversation cleanly rather than as a dropped connection.
    window.addEventListener('pagehide', () => {
      if (this.socket && this.sessionActive()) this.socket.sendJson({ type: 'stop' });
    });
    this.render();
  }

  // --- Session ------------------------------------------------------------------------------------

  async start() {
    if (this.connection !== 'idle' && this.connection !== 'ended') return;
    this.showError('');
    this.showNotice('');
    this.ui.ended.hidden = true;
    if (!this.resumeId) this.captions.clear();
    this.items.clear();
    this.played.clear();
    this.dropped.clear();
    this.currentItem = null;
    this.userSpeaking = false;
    this.assistantPlaying = false;
    this.connection = 'connecting';
    this.render();
    this.audio = new AudioEngine({
      captureUrl: this.root.dataset.captureWorklet,
      playbackUrl: this.root.dataset.playbackWorklet,
      onFrame: (pcm) => this.sendFrame(pcm),
      onLevel: (rms) => this.showLevel(rms),
      onProgress: (progress) => this.onPlayback(progress),
      onMicrophoneLost: () => {
        this.root.dataset.microphone = 'off';
        this.ui.meterLabel.textContent = 'Microphone (off)';
        this.showNotice('The microphone was disconnected. You can still type.');
      },
    });
    try {
      await this.audio.start();
    } catch (error) {
      await this.audio.stop();
      if (this.connection === 'ended') return; // stopped while loading
      this.connection = 'idle';
      this.showError(error.message);
      this.render();
      return;
    }
    if (this.stopping || this.connection === 'ended') return; // stopped while loading
    this.root.dataset.sampleRate = String(this.audio.sampleRate);
    this.socket = new VoiceSocket({
      path: this.root.dataset.socketPath,
      conversationId: this.resumeId,
      handlers: {
        onEvent: (message) => this.onEvent(message),
        onAudio: (data) => this.onAudio(data),
        onStatus: (status) => this.onSocketStatus(status),
        onEnd: (end) => this.onSocketEnd(end),
      },
    });
    this.socket.open();
    try {
      await this.audio.openMicrophone();
      this.root.dataset.microphone = 'on';
      this.ui.meterLabel.textContent = 'Microphone';
    } catch (error) {
      this.root.dataset.microphone = 'off';
      this.ui.meterLabel.textContent = 'Microphone (off)';
      this.showNotice(microphoneProblem(error));
    }
  }

  async stop() {
    if (this.connection === 'idle' || this.connection === 'ended' || this.stopping) return;
    this.stopping = true;
    this.render();
    try {
      await this.interruptPlayback(); // history then knows what was heard of an unfinished answer
      if (this.socket) await this.socket.stop();
    } finally {
      await this.finish();
    }
  }

  async finish() {
    if (this.audio) await this.audio.stop();
    this.stopping = false;
    this.connection = 'ended';
    this.userSpeaking = false;
    this.assistantPlaying = false;
    this.showLevel(0);
    const id = this.socket && this.socket.conversationId;
    if (id) {
      this.ui.historyLink.href = `${this.root.dataset.historyUrl}${id}/`;
      this.ui.continueLink.href = `${this.root.dataset.voiceUrl}?conversation=${encodeURIComponent(id)}`;
      this.ui.ended.hidden = false;
    }
    this.render();
  }

  onSocketStatus(status) {
    if (status === 'reconnecting') {
      // The old connection's audio is gone with it; the server keeps what was said.
      this.upstreamReconnecting = false;
      this.resetPlayback();
    }
    this.connection = status;
    this.render();
  }

  onSocketEnd({ code }) {
    const message = closeMessage(code);
    if (message) this.showError(message);
    else if (code !== 1000 && !this.ui.error.textContent) this.showError('The connection to the server was lost.');
    this.finish();
  }

  // --- Server events ------------------------------------------------------------------------------

  onEvent(message) {
    switch (message.type) {
      case 'session.ready':
        this.root.dataset.conversationId = message.conversation_id;
        this.upstreamReconnecting = false;
        this.showError('');
        break;
      case 'session.reconnecting':
        this.onUpstreamReconnecting();
        break;
      case 'speech.started':
        this.userSpeaking = true;
        this.captions.userSpeech(message.item_id);
        this.interruptPlayback();
        break;
      case 'speech.stopped':
        this.userSpeaking = false;
        break;
      case 'transcript.user':
        this.captions.userTranscript(message.item_id, message.text);
        break;
      case 'assistant.audio.start':
        this.currentItem = message.item_id;
        this.items.set(message.item_id, { responseId: message.response_id, responseDone: false, finished: false });
        this.captions.assistantStarted(message.item_id);
        break;
      case 'transcript.assistant.delta':
        this.captions.assistantDelta(message.item_id, message.delta);
        break;
      case 'transcript.assistant.done':
        this.captions.assistantDone(message.item_id, message.text);
        break;
      case 'response.done':
        this.onResponseDone(message.response_id);
        break;
      case 'error':
        this.onServerError(message);
        break;
      default:
        break;
    }
    this.render();
  }

  // The server replaces its upstream session; audio and typed turns wait on its side, and the
  // answer that was cut off ends here: what already arrived still plays.
  onUpstreamReconnecting() {
    this.upstreamReconnecting = true;
    this.connection = 'reconnecting';
    for (const item of this.items.values()) item.responseDone = true;
    this.currentItem = null;
    this.userSpeaking = false;
    if (this.audio) this.audio.endResponse();
  }

  onAudio(data) {
    const itemId = this.currentItem;
    if (!itemId || this.dropped.has(itemId) || !this.audio) return;
    this.audio.play(itemId, data);
  }

  onResponseDone(responseId) {
    for (const [itemId, item] of this.items) {
      if (item.responseId === responseId) {
        item.responseDone = true;
        if (item.finished) this.items.delete(itemId);
      }
    }
    if (this.audio) this.audio.endResponse();
  }

  onServerError(message) {
    if (message.code === 'transcription_failed' && message.item_id) {
      this.captions.userFailed(message.item_id);
      return;
    }
    if (message.code === 'unknown_item') return; // an interrupt raced the end of an answer
    this.showError(message.message || 'The server reported a problem.');
  }

  // --- Audio --------------------------------------------------------------------------------------

  sendFrame(pcm) {
    if (!this.socket || this.connection === 'ended' || this.connection === 'idle') return;
    this.socket.sendAudio(pcm);
    this.framesSent += 1;
  }

  onPlayback({ playing, items }) {
    this.assistantPlaying = playing;
    for (const stats of items) {
      this.played.set(stats.itemId, stats.playedMs);
      this.captions.played(stats.itemId, stats);
      const item = this.items.get(stats.itemId);
      if (item && stats.finished) {
        item.finished = true;
        if (item.responseDone) this.items.delete(stats.itemId);
      }
    }
    this.render();
  }

  // Barge-in: stop the assistant's voice at once and tell the server how much of each unfinished
  // answer was played, so the model (and history) keep only what was heard.
  async interruptPlayback() {
    if (!this.items.size || !this.audio) return;
    const unfinished = [...this.items.keys()];
    unfinished.forEach((itemId) => this.dropped.add(itemId));
    this.items.clear();
    const report = await this.audio.flush();
    this.assistantPlaying = false;
    for (const itemId of unfinished) {
      const stats = report.find((entry) => entry.itemId === itemId);
      const playedMs = stats ? stats.playedMs : this.played.get(itemId) || 0;
      this.played.set(itemId, playedMs);
      this.socket.sendJson({ type: 'interrupt', item_id: itemId, played_ms: playedMs });
      this.interrupts += 1;
      this.captions.interrupted(itemId, playedMs, stats ? stats.receivedMs : 0);
    }
    this.render();
  }

  resetPlayback() {
    for (const itemId of this.items.keys()) this.dropped.add(itemId);
    this.items.clear();
    this.currentItem = null;
    this.userSpeaking = false;
    this.assistantPlaying = false;
    if (this.audio) this.audio.flush();
  }

  // --- Typed turns --------------------------------------------------------------------------------

  sendTyped() {
    const text = this.ui.input.value.trim();
    if (!text || !this.socket || !this.sessionActive()) return;
    if (text.length > MAX_TYPED_CHARS) {
      this.showError(`A typed message may be at most ${MAX_TYPED_CHARS} characters.`);
      return;
    }
    this.socket.sendJson({ type: 'text', text });
    this.captions.typed(text);
    this.ui.input.value = '';
  }

  // --- Display ------------------------------------------------------------------------------------

  sessionActive() {
    return ['connecting', 'open', 'reconnecting'].includes(this.connection) && !this.stopping;
  }

  state() {
    if (this.connection !== 'open') return this.connection;
    if (this.userSpeaking) return 'user-speaking';
    if (this.assistantPlaying) return 'assistant-speaking';
    return 'listening';
  }

  render() {
    const state = this.state();
    const active = this.sessionActive();
    this.root.dataset.state = state;
    this.root.dataset.interrupts = String(this.interrupts);
    this.root.dataset.framesSent = String(this.framesSent);
    this.root.dataset.playedMs = String([...this.played.values()].reduce((sum, ms) => sum + ms, 0));
    let label = STATE_LABELS[state];
    if (this.stopping) label = 'Stopping…';
    else if (state === 'reconnecting' && this.upstreamReconnecting) label = 'Reconnecting to the voice service…';
    this.ui.status.textContent = label;
    this.ui.start.disabled = active || this.stopping;
    this.ui.stop.disabled = !active;
    this.ui.input.disabled = !active;
    this.ui.send.disabled = !active;
  }

  showLevel(rms) {
    const percent = Math.round(meterFraction(rms) * 100);
    this.ui.meterBar.style.transform = `scaleX(${percent / 100})`;
    if (Math.abs(percent - this._lastMeter) >= 5 || percent === 0) {
      this.ui.meter.setAttribute('aria-valuenow', String(percent));
      this._lastMeter = percent;
    }
  }

  showError(text) {
    this.ui.error.textContent = text;
    this.ui.error.hidden = !text;
  }

  showNotice(text) {
    this.ui.notice.textContent = text;
    this.ui.notice.hidden = !text;
  }
}

const root = document.getElementById('voice');
if (root) window.voiceChat = new VoiceChat(root);

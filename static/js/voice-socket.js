// The /ws/voice/ connection of one voice session (docs/protocol.md), reconnecting when it drops.
//
// A dropped connection (not one ended by the user or refused by the server) is reopened with
// `?conversation=<id>` after a growing delay, a few times, so the conversation goes on. Messages
// sent while the socket is not open wait in a bounded outbox and go out once it opens.

export const RECONNECT_DELAYS_MS = [500, 1500, 3000, 6000];
const PING_EVERY_MS = 20000;
const STOP_TIMEOUT_MS = 3000;
// About ten seconds of 24 kHz PCM16 may wait for a connection; older audio is dropped first.
const MAX_OUTBOX_AUDIO_BYTES = 10 * 24000 * 2;

const CLOSE_MESSAGES = {
  4400: 'That conversation link is not valid.',
  4401: 'You are signed out. Log in again to talk.',
  4403: 'That conversation does not exist or is not yours.',
  4408: 'The session ended after a long silence.',
};

// What to do when the socket closes without the user stopping: 'reconnect' or 'ended'.
// The server retries its own upstream before giving up (4502), so only a lost connection or a
// restarting server (4503) is worth another try from here.
export function closeOutcome(code) {
  if (code === 4503) return 'reconnect';
  if (code === 1000) return 'ended';
  if (code >= 4000 && code <= 4999) return 'ended'; // refused, limited or ended by the server
  return 'reconnect'; // dropped (1006), going away (1001), server error (1011), restart (1012), ...
}

// A message for a close code the server explains with no error event of its own, or ''.
export function closeMessage(code) {
  return CLOSE_MESSAGES[code] || '';
}

// The URL of /ws/voice/ on this page's host, resuming `conversationId` when given.
export function voiceSocketUrl(location, path, conversationId) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = conversationId ? `?conversation=${encodeURIComponent(conversationId)}` : '';
  return `${scheme}//${location.host}${path}${query}`;
}

export class VoiceSocket {
  // `handlers`: onEvent(message), onAudio(arrayBuffer), onStatus('connecting' | 'open' |
  // 'reconnecting'), onEnd({code, outcome}) once the session is over (not after stop()).
  constructor({ path, conversationId = '', handlers, location = window.location }) {
    this.path = path;
    this.conversationId = conversationId;
    this.handlers = handlers;
    this.location = location;
    this.attempt = 0;
    this.stopped = false;
    this._outbox = [];
    this._outboxAudioBytes = 0;
    this._ws = null;
    this._retryTimer = null;
    this._pingTimer = null;
    this._closed = null; // resolves when the current socket closes
  }

  open() {
    this.handlers.onStatus(this.attempt ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(voiceSocketUrl(this.location, this.path, this.conversationId));
    ws.binaryType = 'arraybuffer';
    this._ws = ws;
    let closed;
    this._closed = new Promise((resolve) => {
      closed = resolve;
    });
    ws.onopen = () => this._flushOutbox();
    ws.onmessage = (event) => this._receive(event.data);
    ws.onclose = (event) => {
      closed();
      this._onClose(ws, event.code);
    };
  }

  sendJson(message) {
    this._send(JSON.stringify(message), 0);
  }

  sendAudio(pcm) {
    this._send(pcm, pcm.byteLength);
  }

  get isOpen() {
    return this._ws !== null && this._ws.readyState === WebSocket.OPEN;
  }

  // End the session on purpose: ask the server to stop and wait (briefly) for it to close.
  async stop() {
    this.stopped = true;
    clearTimeout(this._retryTimer);
    clearInterval(this._pingTimer);
    const ws = this._ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: 'stop' }));
      const timeout = new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS));
      await Promise.race([this._closed, timeout]);
    }
    if (ws.readyState !== WebSocket.CLOSED) ws.close(1000);
  }

  _receive(data) {
    if (typeof data !== 'string') {
      this.handlers.onAudio(data);
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === 'session.ready') {
      this.conversationId = message.conversation_id;
      this.attempt = 0;
      clearInterval(this._pingTimer);
      this._pingTimer = setInterval(() => this.isOpen && this._ws.send('{"type":"ping"}'), PING_EVERY_MS);
      this.handlers.onStatus('open');
    }
    this.handlers.onEvent(message);
  }

  _send(payload, audioBytes) {
    if (this.stopped) return;
    if (this.isOpen && !this._outbox.length) {
      this._ws.send(payload);
      return;
    }
    this._outbox.push({ payload, audioBytes });
    this._outboxAudioBytes += audioBytes;
    while (this._outboxAudioBytes > MAX_OUTBOX_AUDIO_BYTES) {
      const index = this._outbox.findIndex((entry) => entry.audioBytes > 0);
      const [dropped] = this._outbox.splice(index, 1);
      this._outboxAudioBytes -= dropped.audioBytes;
    }
  }

  _flushOutbox() {
    while (this._outbox.length && this.isOpen) {
      const { payload, audioBytes } = this._outbox.shift();
      this._outboxAudioBytes -= audioBytes;
      this._ws.send(payload);
    }
  }

  _onClose(ws, code) {
    if (ws !== this._ws) return;
    clearInterval(this._pingTimer);
    if (this.stopped) return;
    const outcome = closeOutcome(code);
    if (outcome === 'reconnect' && this.attempt < RECONNECT_DELAYS_MS.length) {
      const delay = RECONNECT_DELAYS_MS[this.attempt];
      this.attempt += 1;
      this.handlers.onStatus('reconnecting');
      this._retryTimer = setTimeout(() => this.open(), delay);
      return;
    }
    this.stopped = true;
    this.handlers.onEnd({ code, outcome });
  }
}

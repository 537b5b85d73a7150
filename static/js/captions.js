// Live captions of both sides, in conversation order, in an aria-live list.
//
// A user's spoken turn gets its place when speech starts (its transcript may arrive after the
// assistant's answer); an assistant turn when its first audio or text arrives. An interrupted
// answer shows what was heard, and strikes out what was generated but never played. All text
// goes in through textContent, never as HTML.

const SPEAKERS = { user: 'You', assistant: 'Assistant' };

// The words of an answer heard before playback stopped: the played share of its audio taken as
// the same share of its text, whole words only. The server stores the same (conversations/transcripts.py).
export function heardText(text, playedMs, audioMs) {
  if (!text || !audioMs || playedMs <= 0) return '';
  if (playedMs >= audioMs) return text;
  const cut = Math.floor((text.length * playedMs) / audioMs);
  if (cut >= text.length) return text;
  if (/\s/.test(text[cut])) return text.slice(0, cut).trimEnd();
  const head = text.slice(0, cut).trimEnd(); // a word cut in half was not understood
  const lastBreak = head.search(/\s\S*$/);
  return lastBreak < 0 ? '' : head.slice(0, lastBreak).trimEnd();
}

export class Captions {
  constructor(list) {
    this.list = list;
    this.byItem = new Map();
    this.answers = new Map(); // assistant item id -> {text, interrupted, playedMs, receivedMs}
    // Follow new captions unless the reader scrolled up to read earlier ones.
    this.follow = true;
    list.addEventListener('scroll', () => {
      this.follow = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    });
  }

  // Remove the captions of an earlier session from the page.
  clear() {
    this.list.replaceChildren();
    this.byItem.clear();
    this.answers.clear();
  }

  userSpeech(itemId) {
    const caption = this._caption('user', itemId);
    if (!caption.dataset.final) this._setText(caption, '…', true);
  }

  userTranscript(itemId, text) {
    const caption = this._caption('user', itemId);
    caption.dataset.final = '1';
    this._setText(caption, text || '(nothing was heard)', !text);
  }

  userFailed(itemId) {
    const caption = this._caption('user', itemId);
    caption.dataset.final = '1';
    this._setText(caption, '(your words could not be transcribed)', true);
  }

  typed(text) {
    const caption = this._caption('user', null);
    caption.dataset.final = '1';
    caption.dataset.kind = 'text';
    this._setText(caption, text, false);
  }

  assistantStarted(itemId) {
    this._answer(itemId);
  }

  assistantDelta(itemId, delta) {
    this._answer(itemId).text += delta;
    this._paint(itemId);
  }

  assistantDone(itemId, text) {
    this._answer(itemId).text = text;
    this._paint(itemId);
  }

  // How much of an answer's audio was played and received so far, in milliseconds.
  played(itemId, { playedMs, receivedMs, finished }) {
    const caption = this.byItem.get(itemId);
    if (!caption) return;
    Object.assign(this._answer(itemId), { playedMs, receivedMs });
    caption.dataset.playedMs = String(playedMs);
    caption.dataset.receivedMs = String(receivedMs);
    if (finished) caption.dataset.finished = '1';
  }

  // The answer was cut off after `playedMs` of its `receivedMs` of audio.
  interrupted(itemId, playedMs, receivedMs) {
    const answer = this._answer(itemId);
    Object.assign(answer, { interrupted: true, playedMs, receivedMs: Math.max(receivedMs, answer.receivedMs) });
    const caption = this.byItem.get(itemId);
    caption.dataset.interrupted = '1';
    caption.dataset.playedMs = String(playedMs);
    if (!caption.querySelector('.caption-mark')) {
      const mark = document.createElement('span');
      mark.className = 'caption-mark';
      mark.textContent = `interrupted after ${(playedMs / 1000).toFixed(1)} s`;
      caption.append(mark);
    }
    this._paint(itemId);
  }

  _answer(itemId) {
    if (!this.answers.has(itemId)) {
      this.answers.set(itemId, { text: '', interrupted: false, playedMs: 0, receivedMs: 0 });
      this._caption('assistant', itemId);
    }
    return this.answers.get(itemId);
  }

  _paint(itemId) {
    const answer = this.answers.get(itemId);
    const caption = this.byItem.get(itemId);
    if (!answer.text) return;
    if (!answer.interrupted) {
      this._setText(caption, answer.text, false);
      return;
    }
    const heard = heardText(answer.text, answer.playedMs, answer.receivedMs);
    const rest = answer.text.slice(heard.length).trim();
    const paragraph = caption.querySelector('.caption-text');
    paragraph.replaceChildren();
    if (heard) paragraph.append(heard);
    if (rest) {
      const unheard = document.createElement('del');
      unheard.className = 'unheard';
      unheard.title = 'Generated but not heard';
      unheard.textContent = rest;
      paragraph.append(heard ? ' ' : '', unheard);
    }
    delete caption.dataset.pending;
    this._scroll();
  }

  _caption(role, itemId) {
    if (itemId && this.byItem.has(itemId)) return this.byItem.get(itemId);
    const caption = document.createElement('li');
    caption.className = `caption caption-${role}`;
    caption.dataset.role = role;
    if (itemId) caption.dataset.itemId = itemId;
    const speaker = document.createElement('span');
    speaker.className = 'caption-speaker';
    speaker.textContent = SPEAKERS[role];
    const text = document.createElement('p');
    text.className = 'caption-text';
    caption.append(speaker, text);
    this.list.append(caption);
    if (itemId) this.byItem.set(itemId, caption);
    if (role === 'assistant') this._setText(caption, '…', true);
    this._scroll();
    return caption;
  }

  _setText(caption, value, pending) {
    caption.querySelector('.caption-text').textContent = value;
    if (pending) caption.dataset.pending = '1';
    else delete caption.dataset.pending;
    this._scroll();
  }

  _scroll() {
    if (this.follow) this.list.scrollTop = this.list.scrollHeight;
  }
}

/** Small DOM helpers shared by the views: elements, notices, errors, dialogs, formats. */

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

const SVG = 'http://www.w3.org/2000/svg';

/** el('p', {class: 'x', text: 'hi'}, child...) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** A 20 px inline icon drawn with one path. */
export function icon(path) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', path);
  p.setAttribute('fill', 'none');
  p.setAttribute('stroke', 'currentColor');
  p.setAttribute('stroke-width', '2.6');
  p.setAttribute('stroke-linecap', 'round');
  p.setAttribute('stroke-linejoin', 'round');
  svg.append(p);
  return svg;
}

const STATES = {
  waiting: { word: 'Chờ gửi', cls: 'wait', path: 'M12 7v5l3 2M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z' },
  sent: { word: 'Đã gửi', cls: 'ok', path: 'M5 12.5l4.5 4.5L19 7' },
  invalid: { word: 'Cần sửa', cls: 'bad', path: 'M12 7v6m0 4v.5M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z' },
  voided: { word: 'Đã hủy', cls: 'void', path: 'M6 6l12 12M18 6L6 18' },
};

/** A state badge: a word, an icon and a colour (never colour alone). */
export function badge(state) {
  const s = STATES[state];
  return el('span', { class: `badge ${s.cls}`, 'data-state': state }, icon(s.path), el('span', { text: s.word }));
}

/** The badges of a record: Đã hủy for a void, then its send state. */
export function recordBadges(record) {
  const out = [];
  if (record.voided) out.push(badge('voided'));
  out.push(badge(record.state));
  return out;
}

/**
 * Run fn once the screen has changed: after the next frame (rAF, then a task), or after 100 ms
 * where no frame comes (a hidden tab). For work that must not delay what the member sees.
 */
export function afterPaint(fn) {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    fn();
  };
  requestAnimationFrame(() => setTimeout(run, 0));
  setTimeout(run, 100);
}

let noticeTimer = null;
let followed = null; // the record the notice speaks of ({id, action}), while it is shown

/**
 * Show a short message at the top of the screen. keepFor: a view's hash the message is for
 * (a correction saved on the form is told about on "Của tôi"), so going there keeps it.
 */
export function notice(text, kind = 'ok', { keepFor = '' } = {}) {
  const box = $('#notice');
  followed = null;
  box.textContent = text;
  box.className = `fa-notice fa-notice-${kind}`;
  box.dataset.keepFor = keepFor;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(hideNotice, 10000);
}

/** Clear the notice (the next action makes it old), unless it was meant for `hash`. */
export function hideNotice(hash = null) {
  const box = $('#notice');
  if (hash && box.dataset.keepFor === hash) {
    box.dataset.keepFor = '';
    return;
  }
  box.hidden = true;
  followed = null;
}

/** What a notice says of a record just saved or voided: where it really stands. */
export function savedWords(record, action = 'saved', online = navigator.onLine) {
  let done = 'Đã lưu';
  if (action === 'void') done = record.type === 'difficulty' ? 'Đã hủy báo cáo này' : 'Đã hủy lượt này';
  if (record.state === 'sent') {
    return { text: action === 'void' ? `${done} · Đã gửi.` : 'Đã gửi.', kind: 'ok' };
  }
  if (record.state === 'invalid') {
    return { text: `${done} · Cần sửa: mở lượt này trong “Của tôi” để sửa.`, kind: 'bad' };
  }
  const later = online ? '' : ' Máy sẽ tự gửi khi có mạng.';
  return { text: `${done} · Chờ gửi.${later}`, kind: 'warn' };
}

/** The notice after a save or a void; it follows the record (Chờ gửi, then Đã gửi). */
export function recordNotice(record, action = 'saved', options = {}) {
  const { text, kind } = savedWords(record, action);
  notice(text, kind, options);
  followed = { id: record.id, rev: record.rev, action };
}

/** On every change of the records or the network: say the followed record's new state. */
export async function followNotice(getRecord) {
  const box = $('#notice');
  const now = followed;
  if (!now || box.hidden) return;
  const record = await getRecord(now.id);
  if (!record || followed !== now || record.rev !== now.rev) return;
  const { text, kind } = savedWords(record, now.action);
  if (box.textContent === text) return;
  box.textContent = text;
  box.className = `fa-notice fa-notice-${kind}`;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(hideNotice, 10000);
}

/** Ask yes or no in a large dialog; resolves to true for yes. */
export function confirmDialog(text, yes, no = 'Không, quay lại') {
  const dialog = $('#confirm');
  $('#confirm-text').textContent = text;
  $('#confirm-yes').textContent = yes;
  $('#confirm-no').textContent = no;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

/** Show errors (field -> message) next to their fields; '' or unknown fields go to the top. */
export function showErrors(form, errors, topBox) {
  clearErrors(form, topBox);
  const general = [];
  let first = null;
  for (const [name, message] of Object.entries(errors)) {
    const slot = name && form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (!slot) {
      general.push(message);
      continue;
    }
    slot.textContent = message;
    slot.hidden = false;
    const field = slot.closest('.field');
    field.classList.add('has-error');
    first = first || field;
  }
  if (general.length && topBox) {
    topBox.textContent = general.join(' ');
    topBox.hidden = false;
    first = topBox;
  }
  if (first) {
    first.scrollIntoView({ block: 'center' });
    const input = first.querySelector?.('input, select, textarea');
    input?.focus({ preventScroll: true });
  }
}

export function clearErrors(form, topBox) {
  for (const slot of form.querySelectorAll('[data-error-for]')) {
    slot.hidden = true;
    slot.textContent = '';
  }
  for (const field of form.querySelectorAll('.has-error')) field.classList.remove('has-error');
  if (topBox) topBox.hidden = true;
}

const DATE_TIME = new Intl.DateTimeFormat('vi-VN', {
  timeZone: 'Asia/Ho_Chi_Minh',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

/** dd/mm/yyyy HH:MM in Vietnam's time. */
export function formatDateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const parts = Object.fromEntries(DATE_TIME.formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}`;
}

/** 0912345678 -> 0912***678 (the list needs only to recognise a number). */
export function maskPhone(phone) {
  return phone ? `${phone.slice(0, 4)}***${phone.slice(-3)}` : '';
}

/** The words the shell carries in its JSON block (genders, difficulty kinds...). */
export function shellVocab() {
  return JSON.parse($('#shell-vocab').textContent);
}

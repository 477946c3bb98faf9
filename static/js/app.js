/** The app: the router between views, the status bar, and start-up. */
import { startAutoSend } from './autosend.js';
import { ApiError, fetchProfile } from './connection.js';
import { createDifficultyForm } from './difficulty.js';
import { createLogForm } from './form.js';
import { createList } from './list.js';
import { restore } from './outbox.js';
import { createProgress } from './progress.js';
import { askPersistentStorage, registerWorker, setupInstall } from './pwa.js';
import { changed, clearAll, counts, getMeta, getRecord, onChange, setMeta } from './store.js';
import { $, $$, afterPaint, confirmDialog, followNotice, hideNotice, notice, shellVocab } from './ui.js';

const vocab = shellVocab();
let meta = {};
let sender = null;
let view = 'loading';
let install = null; // the offer to add the app to the home screen
let profiledAt = 0;
const PROFILE_AFTER_SEND_MS = 120000; // the group's figures again after a send, at most this often

const ctx = {
  profile: () => ({ meta, vocab }),
  afterSave: () => {
    install?.offer(); // the form has just been emptied: the offer pushes nothing being typed
    // The send starts once the screen shows the saved entry: it never delays "Chờ gửi".
    afterPaint(() => sender?.afterSave());
  },
  go: (hash) => {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};
const logForm = createLogForm(ctx);
const difficultyForm = createDifficultyForm(ctx);
const list = createList(ctx);
const progress = createProgress(ctx);

function show(name, tab = name) {
  view = name;
  for (const section of $$('.fa-view')) section.hidden = section.id !== `view-${name}`;
  for (const link of $$('#tabs a')) {
    if (link.dataset.tab === tab) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Show the view the address asks for: #/ (log), #/mine, #/difficulty, #/entry/<id>. */
async function route() {
  const hash = location.hash || '#/';
  $('#tabs').hidden = !meta.token;
  $('#tabs').classList.remove('fa-pending');
  if (!meta.token) {
    show('welcome');
    return;
  }
  if (hash.startsWith('#/entry/')) {
    const record = await getRecord(decodeURIComponent(hash.slice('#/entry/'.length)));
    if (!record) {
      ctx.go('#/mine');
    } else if (record.type === 'difficulty') {
      difficultyForm.showEdit(record);
      show('difficulty', 'mine');
    } else {
      logForm.showEdit(record);
      show('log', 'mine');
    }
    window.scrollTo({ top: 0 });
    return;
  }
  if (hash === '#/mine') {
    await Promise.all([list.show(), progress.render()]);
    show('mine');
  } else if (hash === '#/difficulty') {
    difficultyForm.showNew();
    show('difficulty');
  } else {
    logForm.showNew();
    show('log');
    install?.offer();
  }
}

/** The bar on every screen: network, what waits, "Gửi ngay", a revoked device. */
async function renderStatus() {
  const online = navigator.onLine;
  const net = $('#net');
  net.textContent = online ? '● Có mạng' : '○ Không có mạng — vẫn lưu bình thường';
  net.classList.toggle('off', !online);
  if (!meta.token) {
    $('#queue-row').hidden = true;
    $('#revoked').hidden = true;
    return;
  }
  showQueue(await counts());
}

/** The bar's queue line and buttons, from counts of what waits and what needs fixing. */
function showQueue({ waiting, invalid }) {
  const parts = [waiting ? `${waiting} lượt chờ gửi` : 'Đã gửi hết'];
  if (invalid) parts.push(`${invalid} lượt cần sửa`);
  $('#wait').textContent = parts.join(' · ');
  $('#wait').classList.toggle('has-waiting', waiting > 0);
  $('#queue-row').hidden = false;
  $('#send-now').hidden = waiting === 0 || Boolean(meta.revoked);
  $('#revoked').hidden = !meta.revoked;
}

async function reloadMeta() {
  meta = await getMeta();
}

/** Fetch the member's campaign and units again (an officer may have changed them). */
async function refreshProfile() {
  if (!meta.token || meta.revoked || !navigator.onLine) return;
  try {
    const { body } = await fetchProfile(meta.token);
    const { member, campaign, units, ward, group } = body;
    if (!member) return;
    await setMeta({ member, campaign, units, ward, group: group ?? null });
    profiledAt = Date.now();
    await reloadMeta();
    list.forget(); // its labels may have changed: drawn afresh when next shown
    // Rebuild the forms' choices, but never under someone's fingers or over an open entry.
    const editing = location.hash.startsWith('#/entry/');
    if (!logForm.isDirty() && !editing) logForm.setup();
    if (!difficultyForm.isDirty() && !editing) difficultyForm.setup();
  } catch (error) {
    if (error instanceof ApiError && error.kind === 'auth') {
      await setMeta({ revoked: true });
      changed();
    }
  }
}

async function sendNow() {
  if (!navigator.onLine) {
    notice('Chưa có mạng. Các lượt vẫn được giữ trên máy và sẽ tự gửi khi có mạng.', 'warn');
    return;
  }
  $('#send-now').disabled = true;
  try {
    const result = await sender?.sendNow();
    if (result?.status === 'ok') notice('Đã gửi xong.');
    else if (result?.status === 'retry') notice('Chưa gửi được. Máy sẽ tự thử lại.', 'warn');
  } finally {
    $('#send-now').disabled = false;
  }
}

async function signOut() {
  const { waiting } = await counts();
  const text = waiting
    ? `Còn ${waiting} lượt chưa gửi. Nếu đăng xuất bây giờ, các lượt này sẽ mất. Hãy kết nối mạng và bấm "Gửi ngay" trước.`
    : 'Đăng xuất khỏi máy này? Các lượt đã gửi vẫn được lưu ở phường.';
  if (!(await confirmDialog(text, waiting ? 'Vẫn đăng xuất' : 'Đăng xuất', 'Ở lại'))) return;
  await clearAll();
  meta = {};
  changed();
  hideNotice();
  location.hash = '#/';
  await route();
}

async function start() {
  registerWorker({
    isBusy: () => logForm.isDirty() || difficultyForm.isDirty() || $('#confirm').open,
  });
  await reloadMeta();
  if (meta.token) {
    logForm.setup();
    difficultyForm.setup();
    install = setupInstall({ isBusy: () => logForm.isDirty() });
    askPersistentStorage();
  }
  // Listening before the first drawing: a send finished meanwhile by the worker or another
  // tab (told through the channel) must reach the list drawn from what was stored before it.
  onChange(async (detail) => {
    followNotice(getRecord); // "Chờ gửi" becomes "Đã gửi" as the server answers
    if (detail?.counts) {
      // This tab's save: the bar and the list in place, from the save's own transaction.
      showQueue(detail.counts);
      list.update(detail.records);
      if (view === 'mine') progress.render(); // a correction or void made on "Của tôi"
      return;
    }
    if (detail?.records) {
      // Answers to a send: the records' lines in place, the bar counted afresh.
      list.update(detail.records);
      await renderStatus();
      return;
    }
    await reloadMeta();
    await renderStatus();
    list.forget();
    if (view === 'mine') await Promise.all([list.render(), progress.render()]);
    if (!meta.token && view !== 'welcome') await route();
  });
  await route();
  await renderStatus();

  window.addEventListener('hashchange', () => {
    hideNotice(location.hash);
    route();
  });
  for (const event of ['online', 'offline']) {
    window.addEventListener(event, () => {
      renderStatus();
      followNotice(getRecord);
    });
  }
  $('#send-now').addEventListener('click', sendNow);
  $('#signout').addEventListener('click', signOut);

  if (meta.token && meta.restore_pending && meta.member) {
    notice(`Xin chào ${meta.member.name}. Điện thoại đã sẵn sàng để ghi nhận, kể cả khi không có mạng.`);
  }
  if (meta.token) {
    sender = startAutoSend({
      onResult: (result) => {
        if (result?.status === 'ok' && result.sent && Date.now() - profiledAt > PROFILE_AFTER_SEND_MS) {
          refreshProfile().then(() => changed());
        }
      },
    });
    restore().catch(() => {}); // a new phone: bring back the history (again next time if offline)
    refreshProfile().then(() => (view === 'mine' ? progress.render() : null));
  }
  document.documentElement.dataset.ready = '1'; // for tests and for the eye: the app is live
}

start();

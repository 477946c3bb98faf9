/** The enrolment page (/e/<code>): enrol this phone, keep the token on it, open the log form. */
import { ApiError, enrolDevice } from './connection.js';
import { allRecords, changed, getMeta, setMeta, updateRecords } from './store.js';

const box = document.getElementById('enrol');
const message = document.getElementById('enrol-message');
const retry = document.getElementById('enrol-retry');

function deviceLabel() {
  const ua = navigator.userAgent;
  if (/iPhone/u.test(ua)) return 'iPhone';
  if (/iPad/u.test(ua)) return 'iPad';
  if (/Android/u.test(ua)) return 'Điện thoại Android';
  return 'Máy tính';
}

function say(text, kind = '') {
  message.textContent = text;
  message.className = `fa-enrol-message ${kind}`;
}

/** A phone handed to another member keeps no history of the first one (only unsent entries). */
async function forgetOtherMember(previous, member) {
  if (!previous.member || previous.member.id === member.id) return;
  const sentIds = (await allRecords()).filter((r) => r.state === 'sent').map((r) => r.id);
  await updateRecords(async (store) => {
    for (const id of sentIds) await store.delete(id);
  });
}

/** Entries of another member that still wait would be sent under the new member: refuse. */
async function blockedByOtherMember(previous) {
  if (!previous.member || String(previous.member.id) === box.dataset.member) return false;
  const waiting = (await allRecords()).filter((r) => r.state !== 'sent').length;
  if (waiting === 0) return false;
  say(
    `Điện thoại này còn ${waiting} lượt chưa gửi của ${previous.member.name}. ` +
      'Người đó cần mở sổ và bấm “Gửi ngay” khi có mạng trước (nếu máy đã bị thu hồi, ' +
      'xin cán bộ phường cấp mã QR mới cho người đó). Mã QR này chưa bị dùng.',
    'bad',
  );
  document.getElementById('enrol-open').hidden = false;
  return true;
}

async function enrol() {
  retry.hidden = true;
  if (await blockedByOtherMember(await getMeta())) return;
  say('Đang kết nối điện thoại với tài khoản của bạn…');
  try {
    const { body } = await enrolDevice(box.dataset.code, deviceLabel());
    const previous = await getMeta();
    await forgetOtherMember(previous, body.member);
    await setMeta({
      token: body.token,
      device_id: body.device_id,
      member: body.member,
      campaign: body.campaign,
      units: body.units,
      ward: body.ward,
      revoked: false,
      restore_pending: true,
      enrolled_at: new Date().toISOString(),
    });
    changed();
    say('Đã kết nối. Đang mở sổ…', 'ok');
    location.replace('/app#/');
  } catch (error) {
    if (error instanceof ApiError && error.kind === 'refused') {
      say('Mã QR này đã được dùng hoặc đã hết hạn. Vui lòng xin cán bộ phường cấp mã mới.', 'bad');
      return;
    }
    say('Chưa kết nối được. Vui lòng kiểm tra mạng rồi bấm “Thử lại”.', 'bad');
    retry.hidden = false;
  }
}

retry.addEventListener('click', enrol);
enrol();

/** The server's rules for a record's data, checked on the phone first (same messages' sense). */
import { nfc } from './fold.js';

export const NOTE_MAX = 1000;
export const TEXT_MAX = 2000;

/** A Vietnamese number as 10 digits starting with 0, or null: fieldapp.text.normalise_phone. */
export function normalisePhone(value) {
  let digits = String(value ?? '').replace(/[\s.\-()]/gu, '');
  if (digits.startsWith('+84')) digits = `0${digits.slice(3)}`;
  else if (digits.startsWith('84') && digits.length === 11) digits = `0${digits.slice(2)}`;
  return /^0[0-9]{9}$/u.test(digits) ? digits : null;
}

/** Free text with CCCD (12 digits) and phone numbers hidden: fieldapp.text.mask_numbers. */
export function maskNumbers(value) {
  return String(value)
    .replace(/(?<!\d)\d{3}(?:[ .]?\d{3}){3}(?!\d)/gu, '[số đã ẩn]')
    .replace(/(?<![\d+])(?:\+84|84|0)(?:[ .-]?\d){9}(?!\d)/gu, '[số đã ẩn]');
}

const keysOf = (list) => (list || []).map((item) => item.key);
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

/**
 * Check an assist's form values against the campaign and units.
 * values: {full_name, birth_year, gender, phone, unit_id, category, steps[], attempts, consent, note}
 * Returns {data, errors}: data in the contract's shape; errors: field -> Vietnamese message.
 */
export function validateAssist(values, { campaign, units, ward, genders, testStep }) {
  const errors = {};
  const data = {};

  const name = nfc(values.full_name);
  const length = [...name].length;
  if (length < 2) errors.full_name = 'Vui lòng nhập họ và tên người dân (ít nhất 2 chữ).';
  else if (length > 120) errors.full_name = 'Họ và tên dài quá 120 ký tự.';
  data.full_name = name;

  const year = String(values.birth_year ?? '').trim();
  const thisYear = new Date().getFullYear();
  if (year) {
    const number = Number(year);
    if (!/^[0-9]{4}$/u.test(year) || number < 1900 || number > thisYear) {
      errors.birth_year = `Năm sinh cần là 4 chữ số, từ 1900 đến ${thisYear}.`;
    } else {
      data.birth_year = number;
    }
  }

  if (values.gender) {
    if (has(genders, values.gender)) data.gender = values.gender;
    else errors.gender = 'Giới tính không hợp lệ.';
  }

  const phone = String(values.phone ?? '').trim();
  if (phone) {
    const normal = normalisePhone(phone);
    if (normal) data.phone = normal;
    else errors.phone = 'Số điện thoại chưa đúng: cần 10 chữ số, bắt đầu bằng số 0.';
  }

  const unitId = Number(values.unit_id);
  if (units.some((u) => u.id === unitId)) data.unit_id = unitId;
  else errors.unit_id = `Vui lòng chọn ${(ward?.unit_label || 'Tổ dân phố').toLowerCase()}.`;

  if (keysOf(campaign.categories).includes(values.category)) data.category = values.category;
  else errors.category = 'Vui lòng chọn đối tượng.';

  const chosen = new Set(values.steps || []);
  const steps = keysOf(campaign.steps).filter((key) => chosen.has(key));
  if (steps.length === 0) errors.steps = 'Vui lòng chọn ít nhất một việc đã hỗ trợ.';
  data.steps = steps;

  if (steps.includes(testStep)) {
    const raw = String(values.attempts ?? '').trim();
    const attempts = raw === '' ? 1 : Number(raw);
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > 20) {
      errors.attempts = 'Số lần thi cần từ 1 đến 20.';
    } else {
      data.attempts = attempts;
    }
  } else {
    data.attempts = 0;
  }

  if (values.consent === true) data.consent = true;
  else errors.consent = 'Cần người dân đồng ý trước khi lưu. Hãy đọc nội dung trên cho người dân.';
  // The wording's version shown above the tick (offline: the one of the last sync).
  if (Number.isInteger(campaign.consent?.version)) data.consent_version = campaign.consent.version;

  const note = String(values.note ?? '').normalize('NFC').trim();
  if ([...note].length > NOTE_MAX) errors.note = `Ghi chú dài quá ${NOTE_MAX} ký tự.`;
  else if (note) data.note = maskNumbers(note);

  return { data, errors };
}

/** Check a difficulty's form values: {kind, unit_id, text}. */
export function validateDifficulty(values, { units, ward, kinds }) {
  const errors = {};
  const data = {};
  const unitId = Number(values.unit_id);
  if (units.some((u) => u.id === unitId)) data.unit_id = unitId;
  else errors.unit_id = `Vui lòng chọn ${(ward?.unit_label || 'Tổ dân phố').toLowerCase()}.`;
  if (has(kinds, values.kind || '')) data.kind = values.kind;
  else errors.kind = 'Vui lòng chọn khó khăn gặp phải.';
  const text = String(values.text ?? '').normalize('NFC').trim();
  if ([...text].length > TEXT_MAX) errors.text = `Nội dung dài quá ${TEXT_MAX} ký tự.`;
  data.text = maskNumbers(text);
  return { data, errors };
}

/** Server errors are keyed like "data.full_name": the form's field name, or '' for the record. */
function fieldOfError(key) {
  return String(key).startsWith('data.') ? String(key).slice(5) : '';
}

/** The server's messages for a record, keyed by the form's field names. */
export function fieldErrors(serverErrors) {
  const errors = {};
  for (const [key, message] of Object.entries(serverErrors)) errors[fieldOfError(key)] = message;
  return errors;
}

/** The log form "Ghi nhận lượt hỗ trợ": new entries, and corrections and voids of old ones. */
import { closedMessage, confirmOutside, showLife, vnDay } from './lifecycle.js';
import { createRecord, reviseRecord } from './records.js';
import { $, $$, clearErrors, confirmDialog, el, hideNotice, recordNotice, showErrors } from './ui.js';
import { fieldErrors, validateAssist } from './validate.js';

// A tap on "Lưu" this soon after a save, on a form nobody touched since, is a double tap.
const DOUBLE_TAP_MS = 1000;

export const VOID_QUESTION = 'Hủy lượt hỗ trợ này? Số liệu sẽ không tính lượt này nữa.';

/** Fill a <select> with the ward's units, the member's own first selected. */
export function fillUnits(select, units, selected) {
  select.replaceChildren(...units.map((u) => el('option', { value: String(u.id), text: u.name })));
  if (units.some((u) => u.id === selected)) select.value = String(selected);
}

function chip(type, name, value, label) {
  const input = el('input', { type, name, value });
  return el('label', { class: type === 'checkbox' ? 'fa-toggle' : 'fa-chip' }, input, el('span', { text: label }));
}

/** The log form's controller. ctx: {profile(), afterSave(), go(hash)} */
export function createLogForm(ctx) {
  const form = $('#log-form');
  const topError = $('#log-form-error');
  const attemptsField = $('#attempts-field');
  let editing = null; // the record being corrected, or null for a new entry
  let dirty = false;
  let lastGender = '';
  let defaults = { unit_id: null, category: '' };

  function testStep() {
    return ctx.profile().vocab.test_step;
  }

  function syncAttempts() {
    const tested = form.querySelector(`input[name="steps"][value="${CSS.escape(testStep())}"]`);
    attemptsField.hidden = !(tested && tested.checked);
  }

  /** Build the parts that come from the campaign and the ward. */
  function setup() {
    const { meta } = ctx.profile();
    const campaign = meta.campaign;
    $('#no-campaign').hidden = Boolean(campaign);
    form.hidden = !campaign;
    const label = meta.ward?.unit_label || 'Tổ dân phố';
    $$('.fa-unit-label').forEach((node) => {
      node.textContent = label;
    });
    $('#who').textContent = meta.member ? `Người ghi: ${meta.member.name}` : '';
    showLife($('#campaign-life'), campaign);
    if (!campaign) return;
    fillUnits($('#f-unit_id'), meta.units || [], defaults.unit_id ?? meta.member?.unit_id);
    $('#category-chips').replaceChildren(
      ...campaign.categories.map((c) => chip('radio', 'category', c.key, c.label)),
    );
    $('#step-toggles').replaceChildren(
      ...campaign.steps.map((s) => chip('checkbox', 'steps', s.key, s.label)),
    );
    $('#consent-text').textContent = campaign.consent?.text || '';
    if (defaults.category) check('category', defaults.category);
    syncAttempts();
  }

  function check(name, value) {
    const input = form.querySelector(`input[name="${name}"][value="${CSS.escape(value)}"]`);
    if (input) input.checked = true;
  }

  function values() {
    const fd = new FormData(form);
    return {
      full_name: fd.get('full_name') || '',
      birth_year: fd.get('birth_year') || '',
      gender: fd.get('gender') || '',
      phone: fd.get('phone') || '',
      unit_id: fd.get('unit_id') || '',
      category: fd.get('category') || '',
      steps: fd.getAll('steps'),
      attempts: fd.get('attempts') || '',
      consent: form.elements.consent.checked,
      note: fd.get('note') || '',
    };
  }

  /** Empty the form for the next resident; the unit and category stay as they were. The
   * choices are kept as built (no rebuild: this runs between the save and "Chờ gửi"). */
  function clear() {
    form.reset();
    const { meta } = ctx.profile();
    const unit = $('#f-unit_id');
    const wanted = String(defaults.unit_id ?? meta.member?.unit_id ?? '');
    if ([...unit.options].some((o) => o.value === wanted)) unit.value = wanted;
    if (defaults.category) check('category', defaults.category);
    syncAttempts();
    form.elements.attempts.value = '1';
    lastGender = '';
    dirty = false;
    clearErrors(form, topError);
  }

  function setDisabled(disabled) {
    for (const control of form.elements) control.disabled = disabled;
  }

  function showState(record) {
    const box = $('#log-state');
    if (!record) {
      box.hidden = true;
      return;
    }
    const lines = [];
    if (record.erased) lines.push('Thông tin cá nhân của người dân trong lượt này đã được xóa theo yêu cầu hoặc hết hạn lưu trữ.');
    if (record.voided) lines.push('Lượt này đã hủy.');
    else if (record.state === 'invalid') lines.push('Cần sửa: hãy sửa các chỗ ghi màu đỏ rồi bấm “Lưu”.');
    else if (record.state === 'waiting') lines.push('Lượt này đang chờ gửi.');
    else lines.push('Lượt này đã gửi. Nếu sửa, bản sửa sẽ được gửi thay cho bản cũ.');
    box.textContent = lines.join(' ');
    box.className = `fa-entry-state fa-entry-${record.voided ? 'void' : record.state}`;
    box.hidden = false;
  }

  /** Open the form empty, for a new entry. */
  function showNew() {
    if (editing) {
      editing = null;
      clear();
    }
    setDisabled(false);
    showLife($('#campaign-life'), ctx.profile().meta.campaign); // the day may have changed
    $('#log-title').textContent = 'Ghi nhận lượt hỗ trợ';
    $('#log-save').textContent = 'Lưu';
    $('#log-edit-actions').hidden = true;
    $('.fa-save', form).hidden = false;
    showState(null);
  }

  /** Open the form with an entry, to correct or void it. */
  function showEdit(record) {
    editing = record;
    form.reset();
    setup();
    clearErrors(form, topError);
    const d = record.data || {};
    form.elements.full_name.value = d.full_name || '';
    form.elements.birth_year.value = d.birth_year ? String(d.birth_year) : '';
    form.elements.phone.value = d.phone || '';
    form.elements.note.value = d.note || '';
    const unit = form.elements.unit_id;
    unit.value = String(d.unit_id ?? '');
    if (unit.value !== String(d.unit_id ?? '')) unit.selectedIndex = -1; // a unit no longer offered
    if (d.gender) check('gender', d.gender);
    lastGender = d.gender || '';
    form.querySelectorAll('input[name="category"]').forEach((i) => {
      i.checked = i.value === d.category;
    });
    (d.steps || []).forEach((s) => check('steps', s));
    form.elements.attempts.value = String(d.attempts || 1);
    form.elements.consent.checked = Boolean(d.consent);
    syncAttempts();
    dirty = false;
    $('#log-title').textContent = 'Sửa lượt hỗ trợ';
    $('#log-save').textContent = 'Lưu thay đổi';
    showState(record);
    const voided = Boolean(record.voided);
    setDisabled(voided);
    $('.fa-save', form).hidden = voided;
    $('#log-edit-actions').hidden = false;
    $('#log-void').hidden = voided;
    if (record.state === 'invalid' && record.errors) {
      showErrors(form, fieldErrors(record.errors), topError);
    }
  }

  let saving = false;
  let savedAt = -Infinity; // performance.now() of the last save that cleared the form

  async function save(event) {
    event.preventDefault();
    // A second tap while the first is being saved must not make a second entry, and the
    // second tap of a double tap that lands on the fresh, untouched form must not bury
    // "Đã lưu" under errors about an entry nobody started.
    if (saving || (!dirty && performance.now() - savedAt < DOUBLE_TAP_MS)) return;
    saving = true;
    try {
      if (await saveOnce()) savedAt = performance.now();
    } finally {
      saving = false;
    }
  }

  /** Validates and stores the form; true when an entry was stored and the form cleared. */
  async function saveOnce() {
    const profile = ctx.profile();
    const { meta, vocab } = profile;
    const { data, errors } = validateAssist(values(), {
      campaign: meta.campaign,
      units: meta.units || [],
      ward: meta.ward,
      genders: vocab.genders,
      testStep: vocab.test_step,
    });
    if (editing?.erased && !data.full_name) {
      // The ward erased this resident's name: a correction of what was done needs none (the
      // server keeps the entry erased, and tells this phone again of anything typed here).
      delete errors.full_name;
      delete data.full_name;
    }
    if (Object.keys(errors).length) {
      hideNotice(); // an earlier "Đã lưu" must not sit above fresh errors
      showErrors(form, errors, topError);
      return;
    }
    defaults = { unit_id: data.unit_id, category: data.category };
    if (editing) {
      const record = await reviseRecord(editing.id, { data });
      editing = null;
      clear();
      if (record) recordNotice(record, 'saved', { keepFor: '#/mine' });
      ctx.go('#/mine');
      ctx.afterSave();
      return true;
    }
    // A new entry on a day outside the campaign: the member confirms first, and the entry keeps
    // a mark on this phone (edits keep their day; the server flags it from recorded_at).
    hideNotice();
    // After the campaign's end, when its rule refuses new entries: say so, keep the form.
    const closed = closedMessage(meta.campaign, vnDay());
    if (closed) {
      showErrors(form, { '': closed }, topError);
      return;
    }
    const outside = await confirmOutside(meta.campaign, confirmDialog);
    if (outside === false) return;
    // Stored (transaction complete) and the bar already says "chờ gửi" when this returns.
    const record = await createRecord('assist', data, outside ? { outside: true } : {});
    clear();
    recordNotice(record); // "Chờ gửi" now; it says "Đã gửi" once the server has it
    window.scrollTo({ top: 0 });
    form.elements.full_name.focus({ preventScroll: true });
    ctx.afterSave(); // sends after the next frame
    return true;
  }

  async function voidEntry() {
    if (!editing) return;
    if (!(await confirmDialog(VOID_QUESTION, 'Hủy lượt này'))) return;
    const record = await reviseRecord(editing.id, { voided: true });
    editing = null;
    clear();
    if (record) recordNotice(record, 'void', { keepFor: '#/mine' });
    ctx.afterSave();
    ctx.go('#/mine');
  }

  form.addEventListener('submit', save);
  form.addEventListener('input', () => {
    dirty = true;
  });
  form.addEventListener('change', (event) => {
    dirty = true;
    if (event.target.name === 'steps') syncAttempts();
  });
  form.addEventListener('click', (event) => {
    const target = event.target;
    // A second tap on the chosen gender clears it: the field is optional.
    if (target.name === 'gender') {
      if (target.value === lastGender) {
        target.checked = false;
        lastGender = '';
      } else {
        lastGender = target.value;
      }
    }
    const add = target.closest?.('[data-add]');
    if (add) {
      const input = form.elements.attempts;
      const next = Math.min(20, Math.max(1, (parseInt(input.value, 10) || 1) + Number(add.dataset.add)));
      input.value = String(next);
      dirty = true;
    }
  });
  $('#log-void').addEventListener('click', voidEntry);

  return {
    setup,
    showNew,
    showEdit,
    isDirty: () => dirty,
  };
}

/** The difficulty form "Báo khó khăn, vướng mắc": works offline like the log form. */
import { fillUnits } from './form.js';
import { createRecord, reviseRecord } from './records.js';
import { $, clearErrors, confirmDialog, hideNotice, recordNotice, showErrors } from './ui.js';
import { fieldErrors, validateDifficulty } from './validate.js';

/** The difficulty form's controller. ctx: {profile(), afterSave(), go(hash)} */
export function createDifficultyForm(ctx) {
  const form = $('#difficulty-form');
  const topError = $('#difficulty-form-error');
  let editing = null;
  let dirty = false;

  function setup() {
    const { meta } = ctx.profile();
    fillUnits($('#d-unit_id'), meta.units || [], meta.member?.unit_id);
  }

  function clear() {
    form.reset();
    setup();
    dirty = false;
    clearErrors(form, topError);
  }

  function setDisabled(disabled) {
    for (const control of form.elements) control.disabled = disabled;
  }

  function showNew() {
    if (editing) {
      editing = null;
      clear();
    }
    setDisabled(false);
    $('#difficulty-title').textContent = 'Báo khó khăn, vướng mắc';
    $('#difficulty-state').hidden = true;
    $('#difficulty-edit-actions').hidden = true;
    $('.fa-save', form).hidden = false;
  }

  function showEdit(record) {
    editing = record;
    clear();
    const d = record.data || {};
    const kind = form.querySelector(`input[name="kind"][value="${CSS.escape(d.kind || '')}"]`);
    if (kind) kind.checked = true;
    form.elements.unit_id.value = String(d.unit_id ?? '');
    form.elements.text.value = d.text || '';
    $('#difficulty-title').textContent = 'Sửa báo cáo khó khăn';
    const state = $('#difficulty-state');
    state.textContent = record.voided
      ? 'Báo cáo này đã hủy.'
      : record.state === 'invalid'
        ? 'Cần sửa: hãy sửa các chỗ ghi màu đỏ rồi bấm “Lưu”.'
        : record.state === 'waiting'
          ? 'Báo cáo này đang chờ gửi.'
          : 'Báo cáo này đã gửi.';
    state.className = `fa-entry-state fa-entry-${record.voided ? 'void' : record.state}`;
    state.hidden = false;
    setDisabled(Boolean(record.voided));
    $('.fa-save', form).hidden = Boolean(record.voided);
    $('#difficulty-edit-actions').hidden = false;
    $('#difficulty-void').hidden = Boolean(record.voided);
    if (record.state === 'invalid' && record.errors) {
      showErrors(form, fieldErrors(record.errors), topError);
    }
  }

  let saving = false;

  async function save(event) {
    event.preventDefault();
    if (saving) return; // a double tap makes one report
    saving = true;
    try {
      await saveOnce();
    } finally {
      saving = false;
    }
  }

  async function saveOnce() {
    const { meta, vocab } = ctx.profile();
    const fd = new FormData(form);
    const { data, errors } = validateDifficulty(
      { kind: fd.get('kind') || '', unit_id: fd.get('unit_id') || '', text: fd.get('text') || '' },
      { units: meta.units || [], ward: meta.ward, kinds: vocab.difficulty_kinds },
    );
    if (Object.keys(errors).length) {
      hideNotice(); // an earlier "Đã lưu" must not sit above fresh errors
      showErrors(form, errors, topError);
      return;
    }
    const wasEditing = Boolean(editing);
    const record = editing
      ? await reviseRecord(editing.id, { data })
      : await createRecord('difficulty', data);
    editing = null;
    clear();
    if (record) recordNotice(record, 'saved', wasEditing ? { keepFor: '#/mine' } : {});
    ctx.afterSave();
    if (wasEditing) ctx.go('#/mine');
  }

  async function voidEntry() {
    if (!editing) return;
    const yes = await confirmDialog('Hủy báo cáo khó khăn này?', 'Hủy báo cáo này');
    if (!yes) return;
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
  $('#difficulty-void').addEventListener('click', voidEntry);

  return { setup, showNew, showEdit, isDirty: () => dirty };
}

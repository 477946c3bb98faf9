/** "Của tôi": every entry on this phone with its state, searchable without accents. */
import { fold } from './fold.js';
import { allRecords } from './store.js';
import { $, el, formatDateTime, maskPhone, recordBadges } from './ui.js';

export const ERASED_TITLE = '(Đã xóa thông tin cá nhân)';

function labelOf(list, key) {
  return (list || []).find((item) => item.key === key)?.label || key;
}

/** Does a record match what was typed? Name without accents, or the phone's digits. */
export function matches(record, query) {
  const q = fold(query);
  if (!q) return true;
  const d = record.data || {};
  if (fold(d.full_name || '').includes(q)) return true;
  const digits = query.replace(/\D/gu, '');
  return digits.length >= 3 && (d.phone || '').includes(digits);
}

/** The list's controller. ctx: {profile()} */
export function createList(ctx) {
  const list = $('#mine-list');
  const search = $('#search');

  function describe(record) {
    const { meta, vocab } = ctx.profile();
    const d = record.data || {};
    if (record.type === 'difficulty') {
      return {
        title: `Khó khăn: ${vocab.difficulty_kinds[d.kind] || d.kind || ''}`,
        lines: [d.text || ''],
      };
    }
    const campaign = meta.campaign || {};
    const steps = (d.steps || []).map((s) => labelOf(campaign.steps, s)).join(' · ');
    const who = [d.birth_year, maskPhone(d.phone)].filter(Boolean).join(' · ');
    return {
      // Erased by the ward (on the resident's request, or after the campaign): no name left.
      title: d.full_name || (record.erased ? ERASED_TITLE : ''),
      lines: [who, [labelOf(campaign.categories, d.category), steps].filter(Boolean).join(' — ')],
    };
  }

  let shownRecords = null; // id -> record as the list shows it, null until rendered

  function order(a, b) {
    return (b.recorded_at || '').localeCompare(a.recorded_at || '') || (b.saved_at || 0) - (a.saved_at || 0);
  }

  function item(record) {
    const { title, lines } = describe(record);
    const classes = ['fa-item', `fa-item-${record.voided ? 'void' : record.state}`];
    return el(
      'li',
      {},
      el(
        'a',
        { class: classes.join(' '), href: `#/entry/${record.id}`, 'data-id': record.id },
        el('span', { class: 'fa-item-head' }, el('strong', { class: 'fa-item-name', text: title }), ...recordBadges(record)),
        ...lines.filter(Boolean).map((line) => el('span', { class: 'fa-item-line', text: line })),
        record.outside // logged on a day outside the campaign, after the member said so
          ? el('span', { class: 'fa-item-line fa-outside', text: '⚠ Ghi ngoài thời gian Cuộc thi' })
          : null,
        el('span', { class: 'fa-item-line muted', text: formatDateTime(record.recorded_at) }),
      ),
    );
  }

  function summarise(records, shownCount) {
    const waiting = records.filter((r) => r.state === 'waiting').length;
    const invalid = records.filter((r) => r.state === 'invalid').length;
    const parts = [`Tổng: ${records.filter((r) => r.type === 'assist' && !r.voided).length} lượt hỗ trợ`];
    if (waiting) parts.push(`${waiting} chờ gửi`);
    if (invalid) parts.push(`${invalid} cần sửa`);
    $('#mine-summary').textContent = parts.join(' · ');
    $('#mine-empty').hidden = shownCount > 0;
    $('#mine-empty').textContent = records.length ? 'Không tìm thấy lượt nào.' : 'Chưa có lượt nào.';
  }

  let rendering = null; // the drawing under way, if any
  let redraw = false; // something changed while it read the records: draw again after it

  /** Read every record and draw the whole list (once more if a change came meanwhile). */
  function render() {
    if (rendering) {
      redraw = true;
      return rendering;
    }
    rendering = (async () => {
      do {
        redraw = false;
        const records = (await allRecords()).sort(order);
        shownRecords = new Map(records.map((r) => [r.id, r]));
        const shown = records.filter((r) => matches(r, search.value));
        summarise(records, shown.length);
        list.replaceChildren(...shown.map(item));
      } while (redraw);
    })().finally(() => {
      rendering = null;
    });
    return rendering;
  }

  /** Records just saved or answered: replace, add or drop their lines only (no full redraw). */
  function update(records) {
    if (rendering) {
      redraw = true; // the drawing under way may have read them before this change
      return;
    }
    if (!shownRecords) return;
    for (const record of records) {
      shownRecords.set(record.id, record);
      const old = list.querySelector(`a[data-id="${CSS.escape(record.id)}"]`)?.parentElement;
      if (!matches(record, search.value)) {
        old?.remove();
      } else if (old) {
        old.replaceWith(item(record));
      } else {
        // A new line goes before the first line it sorts before (new entries: the top).
        const next = [...list.children].find((li) => {
          const other = shownRecords.get(li.firstElementChild?.dataset.id);
          return other && order(record, other) < 0;
        });
        list.insertBefore(item(record), next || null);
      }
    }
    summarise([...shownRecords.values()], list.children.length);
  }

  /** Before the list is shown: draw it if it was never drawn or might be out of date. */
  async function show() {
    if (!shownRecords) await render();
  }

  /** Something changed that the list was not told about: draw it afresh when next shown. */
  function forget() {
    shownRecords = null;
  }

  search.addEventListener('input', render);
  return { render, update, show, forget };
}

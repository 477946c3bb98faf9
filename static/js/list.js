/** "Của tôi": every entry on this phone with its state, searchable without accents. */
import { fold } from './fold.js';
import { allRecords } from './store.js';
import { $, el, formatDateTime, maskPhone, recordBadges } from './ui.js';

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
      title: d.full_name || '',
      lines: [who, [labelOf(campaign.categories, d.category), steps].filter(Boolean).join(' — ')],
    };
  }

  async function render() {
    const records = (await allRecords()).sort(
      (a, b) => (b.recorded_at || '').localeCompare(a.recorded_at || '') || (b.saved_at || 0) - (a.saved_at || 0),
    );
    const shown = records.filter((r) => matches(r, search.value));
    const waiting = records.filter((r) => r.state === 'waiting').length;
    const invalid = records.filter((r) => r.state === 'invalid').length;
    const parts = [`Tổng: ${records.filter((r) => r.type === 'assist' && !r.voided).length} lượt hỗ trợ`];
    if (waiting) parts.push(`${waiting} chờ gửi`);
    if (invalid) parts.push(`${invalid} cần sửa`);
    $('#mine-summary').textContent = parts.join(' · ');
    $('#mine-empty').hidden = shown.length > 0;
    $('#mine-empty').textContent = records.length ? 'Không tìm thấy lượt nào.' : 'Chưa có lượt nào.';
    list.replaceChildren(
      ...shown.map((record) => {
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
      }),
    );
  }

  search.addEventListener('input', render);
  return { render };
}

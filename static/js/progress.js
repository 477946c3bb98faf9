/**
 * "Của tôi" progress, offline: the member's own assists today, this week and in the whole
 * campaign, by step (from the entries on this phone), and the group against its target as
 * the server last said (GET /api/v1/me, kept in meta.group with its time).
 */
import { allRecords } from './store.js';
import { $, el, formatDateTime } from './ui.js';

/** yyyy-mm-dd of a moment in this phone's time zone. */
function dayOf(moment) {
  const d = new Date(moment);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Monday of the week of `now`, as yyyy-mm-dd. */
function mondayOf(now) {
  const d = new Date(now);
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return dayOf(d);
}

/**
 * Counts of the member's assists (voided ones left out): {today, week, campaign}, each
 * {assists, steps: {key: n}}. The campaign counts entries from its first day on (the phone
 * may also hold a past campaign's history, restored from the server).
 */
export function summarise(records, campaign, now = Date.now()) {
  const keys = (campaign?.steps || []).map((s) => s.key);
  const blank = () => ({ assists: 0, steps: Object.fromEntries(keys.map((k) => [k, 0])) });
  const out = { today: blank(), week: blank(), campaign: blank() };
  const today = dayOf(now);
  const monday = mondayOf(now);
  const start = campaign?.starts_on || '';
  for (const record of records) {
    if (record.type !== 'assist' || record.voided) continue;
    const day = dayOf(record.recorded_at);
    if (!day) continue;
    const buckets = [];
    if (day >= start) buckets.push(out.campaign);
    if (day >= monday && day <= today) buckets.push(out.week);
    if (day === today) buckets.push(out.today);
    for (const bucket of buckets) {
      bucket.assists += 1;
      for (const step of record.data?.steps || []) {
        if (step in bucket.steps) bucket.steps[step] += 1;
      }
    }
  }
  return out;
}

/** The progress panel's controller. ctx: {profile()} */
export function createProgress(ctx) {
  const box = $('#progress');

  async function render() {
    const { meta } = ctx.profile();
    const campaign = meta.campaign || null;
    const counts = summarise(await allRecords(), campaign);
    const steps = campaign?.steps || [];
    const head = el('tr', {}, el('th', { text: '' }), el('th', { class: 'num', text: 'Lượt hỗ trợ' }),
      ...steps.map((s) => el('th', { class: 'num', text: s.label })));
    const rows = [['Hôm nay', counts.today], ['Tuần này', counts.week], ['Cả Cuộc thi', counts.campaign]].map(
      ([label, c]) => el('tr', { 'data-period': label }, el('th', { text: label }), el('td', { class: 'num', text: String(c.assists) }),
        ...steps.map((s) => el('td', { class: 'num', text: String(c.steps[s.key] || 0) }))),
    );
    const group = meta.group;
    const groupLine = group
      ? el('p', { class: 'fa-group', id: 'group-standing' },
        el('strong', { text: group.line }),
        el('span', { text: group.target ? ' người đã thi so với chỉ tiêu' : '' }),
        el('span', { class: 'muted', text: ` · số liệu của phường lúc ${formatDateTime(group.as_of)}` }))
      : null;
    box.replaceChildren(
      el('h2', { text: 'Kết quả của tôi' }),
      el('div', { class: 'fa-progress-wrap' }, el('table', { class: 'fa-progress-table' },
        el('caption', { class: 'sr-only', text: 'Lượt hỗ trợ của tôi theo việc' }), el('thead', {}, head), el('tbody', {}, ...rows))),
      el('p', { class: 'muted', text: 'Tính từ các lượt trên máy này, kể cả lượt chưa gửi.' }),
      groupLine,
    );
  }

  return { render };
}

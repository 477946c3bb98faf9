/** A campaign's life cycle on the phone: fieldapp/lifecycle.py's rule, on the campaign's dates
 * from the last /me answer, so it holds with no signal (tests/test_lifecycle.py: same cases). */

const DAY_MS = 86400000;
const VN_DAY = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Ho_Chi_Minh',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** The day of a moment in Vietnam, as YYYY-MM-DD (the server's day of a device time too). */
export function vnDay(moment = new Date()) {
  return VN_DAY.format(moment);
}

/** Whole days from one YYYY-MM-DD to another (both read as UTC midnight: exact). */
function between(from, to) {
  return Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS);
}

/** 2025-11-11 -> 11/11/2025 */
export function showDate(iso) {
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

/** The phase of a campaign ({starts_on, ends_on, report_due}) on `today` (YYYY-MM-DD). */
export function lifecycle(campaign, today) {
  const { starts_on: starts, ends_on: ends, report_due: due } = campaign;
  let phase = 'overdue';
  if (today < starts) phase = 'not_started';
  else if (today <= ends) phase = 'running';
  else if (today < due) phase = 'ended';
  else if (today === due) phase = 'report_due';
  return {
    phase,
    daysToStart: between(today, starts),
    daysLeft: between(today, ends),
    daysToDue: between(today, due),
  };
}

/** The line a member reads above the log form. */
export function memberText(campaign, today) {
  const life = lifecycle(campaign, today);
  if (life.phase === 'not_started') return `Cuộc thi bắt đầu ngày ${showDate(campaign.starts_on)}.`;
  if (life.phase !== 'running') return `Cuộc thi đã kết thúc ngày ${showDate(campaign.ends_on)}.`;
  if (life.daysLeft === 0) return 'Hôm nay là ngày cuối của Cuộc thi.';
  if (life.daysLeft === 1) return 'Ngày mai là ngày cuối của Cuộc thi.';
  return `Cuộc thi đang diễn ra, còn ${life.daysLeft} ngày (đến hết ngày ${showDate(campaign.ends_on)}).`;
}

/** After the campaign's end a new entry follows its rule (fieldapp/retention.py): refused
 * ('refuse'), or counted without personal fields ('count_only', also for an older answer). */
function refuses(campaign, today) {
  return campaign.after_end === 'refuse' && today > campaign.ends_on;
}

/** Why a new entry cannot be logged today (the server's words), or null. */
export function closedMessage(campaign, today) {
  if (!campaign || !refuses(campaign, today)) return null;
  return `Cuộc thi đã kết thúc ngày ${showDate(campaign.ends_on)}: không nhận lượt mới.`;
}

/** What to ask before logging on a day outside the campaign; null inside it. */
export function outsideQuestion(campaign, today) {
  if (!campaign) return null;
  const { phase } = lifecycle(campaign, today);
  if (phase === 'running') return null;
  if (phase === 'not_started') {
    return `Cuộc thi chưa bắt đầu (bắt đầu ngày ${showDate(campaign.starts_on)}) — vẫn ghi?`;
  }
  return (
    `Cuộc thi đã kết thúc ngày ${showDate(campaign.ends_on)}: lượt mới chỉ được tính vào số liệu,` +
    ' không lưu họ tên, năm sinh, giới tính, số điện thoại và ghi chú — vẫn ghi?'
  );
}

/** Fill the line above the form (hidden without a campaign). */
export function showLife(node, campaign, today = vnDay()) {
  node.hidden = !campaign;
  if (!campaign) return;
  const { phase, daysLeft } = lifecycle(campaign, today);
  node.textContent = closedMessage(campaign, today) || memberText(campaign, today);
  node.dataset.phase = phase;
  node.classList.toggle('soon', phase === 'running' && daysLeft <= 3);
  node.classList.toggle('closed', phase !== 'running');
}

/** Before a new entry: null on a day of the campaign; outside it, the member's answer to
 * `ask` (true: log it anyway, and the entry is marked). */
export async function confirmOutside(campaign, ask, today = vnDay()) {
  const question = outsideQuestion(campaign, today);
  return question === null ? null : ask(question, 'Vẫn ghi', 'Không ghi');
}

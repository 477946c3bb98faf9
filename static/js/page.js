// Every office page: a table wider than the screen says so ("Kéo sang ngang…") above itself,
// and only while it really is wider (a phone turned sideways may fit it all).

const HINT = 'Bảng rộng hơn màn hình: kéo ngang bảng để xem thêm cột →';

function mark(wrap) {
  const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
  wrap.classList.toggle('scrolls', scrolls);
  let hint = wrap.previousElementSibling;
  if (!hint || !hint.classList.contains('scroll-hint')) {
    if (!scrolls) return;
    hint = document.createElement('p');
    hint.className = 'scroll-hint';
    hint.textContent = HINT;
    wrap.before(hint);
  }
  hint.hidden = !scrolls;
}

const wraps = [...document.querySelectorAll('.table-wrap')];
if (wraps.length && 'ResizeObserver' in window) {
  const observer = new ResizeObserver((changes) => changes.forEach((c) => mark(c.target)));
  wraps.forEach((wrap) => observer.observe(wrap));
  // A closed <details> has no size yet: look again when one is opened.
  document.addEventListener('toggle', (event) => {
    event.target.querySelectorAll?.('.table-wrap').forEach(mark);
  }, true);
}

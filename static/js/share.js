/**
 * "Chia sẻ": a link to a PNG (the progress card, the contest's QR code) shares the image
 * itself through the Web Share API where the browser can share files (Zalo is among the
 * targets on Android), and is an ordinary download everywhere else.
 */
async function share(link) {
  const response = await fetch(link.href, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`status ${response.status}`);
  const blob = await response.blob();
  // The server's name for the file (it carries the day), else the link's.
  const named = /filename="([^"]+)"/u.exec(response.headers.get('Content-Disposition') || '');
  const name = named ? named[1] : link.getAttribute('download') || 'anh.png';
  const file = new File([blob], name, { type: blob.type || 'image/png' });
  const data = { files: [file], title: link.dataset.shareTitle || '', text: link.dataset.shareText || '' };
  if (navigator.canShare?.(data)) {
    try {
      await navigator.share(data);
    } catch (error) {
      if (error?.name !== 'AbortError') throw error; // the member closed the share sheet
    }
    return 'shared';
  }
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: file.name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return 'downloaded';
}

for (const link of document.querySelectorAll('a[data-share]')) {
  // Without file sharing the link's own download does the job; no need to fetch it twice.
  const probe = new File([new Uint8Array(1)], 'x.png', { type: 'image/png' });
  if (!navigator.canShare?.({ files: [probe] })) continue;
  link.textContent = link.dataset.shareLabel || link.textContent;
  link.addEventListener('click', (event) => {
    event.preventDefault();
    link.setAttribute('aria-busy', 'true');
    share(link)
      .catch(() => {
        window.location.assign(link.href); // share failed: show the image, to save or forward
      })
      .finally(() => link.removeAttribute('aria-busy'));
  });
}

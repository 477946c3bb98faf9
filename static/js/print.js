// The "In báo cáo" button of the printable report: opens the browser's print dialog.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

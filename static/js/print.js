// The printable report: "In báo cáo" opens the print dialog; the signer's name, typed once,
// is printed under the signature (remembered on this computer only, never sent anywhere).
const KEY = "fieldapp.signer-name";

for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

const input = document.querySelector("[data-signer-input]");
const line = document.querySelector("[data-signer-name]");
if (input && line) {
  const show = () => {
    line.textContent = input.value.trim();
  };
  input.closest("label").hidden = false;
  try {
    input.value = localStorage.getItem(KEY) || "";
  } catch {
    // storage refused (private mode): the name is simply typed again
  }
  show();
  input.addEventListener("input", () => {
    show();
    try {
      localStorage.setItem(KEY, input.value.trim());
    } catch {
      // as above
    }
  });
}

/** Accent folding for search, the same rule as fieldapp.text.fold: "Đỗ Thị Hòa" -> "do thi hoa". */

/** NFC, inner whitespace collapsed, trimmed: fieldapp.text.nfc. */
export function nfc(value) {
  return String(value ?? '').normalize('NFC').replace(/\s+/gu, ' ').trim();
}

/** Lower-case, đ -> d, combining marks dropped. */
export function fold(value) {
  return nfc(value).toLowerCase().replace(/đ/gu, 'd').normalize('NFD').replace(/\p{M}/gu, '');
}

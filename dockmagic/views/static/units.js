// Sizes as every dockmagic view prints them, put in front of each view's module (widget_scripts.py).

const SIZE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

/**
 * Bytes in the docker CLI's style, as every dockmagic view prints them: "77B", "31.2kB", "1.99MB" (three
 * significant digits, halves rounded up, never "1e+03kB"). Step for step the same as human_size in
 * dockmagic/views/units.py (a test compares them).
 * @param {number | null | undefined} size
 * @returns {string}
 */
export function humanSize(size) {
  if (size === null || size === undefined) return "?";
  let value = Math.max(0, size);
  let index = 0;
  while (value >= 1000 && index < SIZE_UNITS.length - 1) {
    value /= 1000;
    index += 1;
  }
  if (index === 0) return `${value.toFixed(0)}B`;
  let decimals, rounded;
  for (;;) {
    decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2;
    const scale = 10 ** decimals;
    rounded = Math.floor(value * scale + 0.5) / scale;
    if (rounded < 1000 || index === SIZE_UNITS.length - 1) break;
    value /= 1000;  // 999.96kB rounds to 1000kB: say 1MB
    index += 1;
  }
  let text = rounded.toFixed(decimals);
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return `${text}${SIZE_UNITS[index]}`;
}

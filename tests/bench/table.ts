/** Plain-text tables for the terminal: a header, aligned columns, numbers to the right. */

export type Cell = string | number | undefined;

function text(cell: Cell): string {
  if (cell === undefined) return '-';
  return typeof cell === 'number' ? String(cell) : cell;
}

/** Numbers, and strings such as "12.0", "$0.0416" or "45%", are right-aligned. */
function looksNumeric(cell: Cell): boolean {
  return cell === undefined || typeof cell === 'number' || /^\$?-?[0-9][0-9,]*(\.[0-9]+)?%?$/.test(cell);
}

/** Renders rows under a header; numeric columns (every cell a number or empty) are right-aligned. */
export function renderTable(header: readonly string[], rows: readonly Cell[][]): string {
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => looksNumeric(r[c])));
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: readonly Cell[]) =>
    cells
      .map((cell, c) => (numeric[c] ? text(cell).padStart(widths[c]) : text(cell).padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A section heading for the terminal. */
export function heading(title: string): string {
  return `\n== ${title} ${'='.repeat(Math.max(3, 76 - title.length))}`;
}

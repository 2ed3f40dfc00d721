/** Plain-text tables for terminal output: columns padded to their widest cell. */

/**
 * The table as lines, header first.
 *
 * @param header the column titles
 * @param rows the cells; `undefined` and '' show as "-"
 */
export function formatTable(header: readonly string[], rows: readonly (readonly (string | undefined)[])[]): string[] {
  const cells = [header, ...rows.map((row) => row.map((c) => (c === undefined || c === '' ? '-' : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : (cell ?? '').padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

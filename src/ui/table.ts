/**
 * Columns aligned like Go's tabwriter as docker and docker-machine print them: each column padded to
 * its widest cell (at least `minWidth`) plus 3 spaces; the last column is not padded.
 */
export function formatColumns(rows: string[][], minWidth = 0): string {
  const widths = rows[0].map((_, i) => Math.max(minWidth, ...rows.map((r) => r[i].length)) + 3);
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('')
      .trimEnd();
  return rows.map(line).join('\n') + '\n';
}

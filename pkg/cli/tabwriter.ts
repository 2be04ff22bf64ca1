/**
 * Elastic tabstops, as Go's `text/tabwriter` lays them out — kubectl prints every table and every
 * `describe` through it, so matching its algorithm is what makes berth's output line up exactly
 * as kubectl's does.
 *
 * Text is cut into cells by `\t` and into lines by `\n`. A cell is *tab-terminated*; the last cell
 * of a line is not, and takes no part in alignment. A column block is a run of consecutive lines
 * that all have a tab-terminated cell in that column; its width is the widest cell of the block
 * plus `padding` (at least `minWidth`). A line with fewer cells ends the block, so a line with no
 * tab at all (`Conditions:`) starts fresh alignment below it.
 *
 * `rememberWidths` is the flag of kubectl's fork (k8s.io/cli-runtime/pkg/printers/tabwriter.go):
 * column widths are kept across flushes, so `get -w` rows line up under the first table.
 */

export interface TabWriterOptions {
  /** Minimal cell width including padding. */
  minWidth: number;
  /** Cell padding added to the widest cell of a column. */
  padding: number;
  /** Keep the widest width of each column across flushes. */
  rememberWidths?: boolean;
}

interface Cell {
  text: string;
  /** Width in runes (what Go's `utf8.RuneCount` gives). */
  width: number;
}

/** `describe`'s layout: `tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)`. */
export const DESCRIBE_TABS: TabWriterOptions = { minWidth: 0, padding: 2 };
/** `get`'s layout: minimum width 6, padding 3, remembered widths (cli-runtime's GetNewTabWriter). */
export const GET_TABS: TabWriterOptions = { minWidth: 6, padding: 3, rememberWidths: true };

export class TabWriter {
  private lines: Cell[][] = [[]];
  private cell = '';
  private widths: number[] = [];
  private maxWidths: number[] = [];
  private out = '';

  constructor(private readonly opts: TabWriterOptions) {}

  /** Buffers text; nothing is laid out until `flush`. */
  write(text: string): void {
    for (const ch of text) {
      if (ch === '\t') {
        this.terminateCell();
      } else if (ch === '\n') {
        this.terminateCell();
        this.lines.push([]);
      } else {
        this.cell += ch;
      }
    }
  }

  /** Lays out everything buffered and returns it; widths are kept if `rememberWidths`. */
  flush(): string {
    if (this.cell.length > 0) this.terminateCell();
    this.format(0, this.lines.length);
    const out = this.out;
    this.out = '';
    this.lines = [[]];
    this.cell = '';
    this.widths = [];
    return out;
  }

  /** Forgets remembered widths (kubectl does this when it starts the table of another kind). */
  resetWidths(): void {
    this.maxWidths = [];
  }

  private terminateCell(): void {
    this.lines[this.lines.length - 1]!.push({ text: this.cell, width: runeCount(this.cell) });
    this.cell = '';
  }

  private format(line0: number, line1: number): void {
    const column = this.widths.length;
    for (let cur = line0; cur < line1; cur++) {
      const line = this.lines[cur]!;
      if (column >= line.length - 1) continue;
      // A cell exists in this column: a block begins here.
      this.writeLines(line0, cur);
      line0 = cur;
      let width = this.opts.minWidth;
      for (; cur < line1; cur++) {
        const l = this.lines[cur]!;
        if (column >= l.length - 1) break;
        const w = l[column]!.width + this.opts.padding;
        if (w > width) width = w;
      }
      if (this.opts.rememberWidths) {
        const idx = this.widths.length;
        if (this.maxWidths.length < idx) this.maxWidths.push(...this.widths.slice(this.maxWidths.length));
        if (this.maxWidths.length === idx) this.maxWidths.push(width);
        else if (this.maxWidths[idx]! > width) width = this.maxWidths[idx]!;
        else this.maxWidths[idx] = width;
      }
      this.widths.push(width);
      this.format(line0, cur);
      this.widths.pop();
      line0 = cur;
      // Go's loop steps past the line that ended the block: it has no cell in this column.
    }
    this.writeLines(line0, line1);
  }

  private writeLines(line0: number, line1: number): void {
    for (let i = line0; i < line1; i++) {
      const line = this.lines[i]!;
      line.forEach((c, j) => {
        this.out += c.text;
        if (j < this.widths.length) this.out += ' '.repeat(Math.max(0, this.widths[j]! - c.width));
      });
      // The last buffered line has no newline of its own.
      if (i + 1 < this.lines.length) this.out += '\n';
    }
  }
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

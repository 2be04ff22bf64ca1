/**
 * A small CSV reader for berth's data files (RFC 4180: comma-separated, fields optionally in
 * double quotes, `""` for a quote inside a quoted field, CRLF or LF line ends). Enough for the
 * instance-type catalogue, which quotes only its free-text `note` column; no dependency needed.
 */

/** Thrown when a CSV text is malformed (an unterminated quoted field, text after a closing quote). */
export class CsvError extends Error {
  readonly code = 'MalformedCsv';
  constructor(
    message: string,
    /** 1-based line where the problem was found. */
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvError';
  }
}

/**
 * Parses CSV text into rows of fields. Blank lines are skipped; a trailing newline is optional.
 * Throws CsvError.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let line = 1;
  let i = 0;
  // True once the current row has any content (a field separator or a character).
  let started = false;
  const endRow = (): void => {
    if (started) {
      row.push(field);
      rows.push(row);
    }
    row = [];
    field = '';
    started = false;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === '') {
      // A quoted field: read to the closing quote.
      const startLine = line;
      i++;
      for (;;) {
        if (i >= text.length) throw new CsvError('unterminated quoted field', startLine);
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\n') line++;
        field += q;
        i++;
      }
      started = true;
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') throw new CsvError('unexpected character after a closing quote', line);
      continue;
    }
    if (c === ',') {
      row.push(field);
      field = '';
      started = true;
      i++;
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') {
      i++;
      continue;
    }
    if (c === '\n') {
      endRow();
      line++;
      i++;
      continue;
    }
    field += c;
    started = true;
    i++;
  }
  endRow();
  return rows;
}

/** Parses CSV text with a header row into one record per row, keyed by the header's names. Throws CsvError. */
export function parseCsvRecords(text: string): { header: string[]; records: Record<string, string>[] } {
  const [header, ...rows] = parseCsv(text);
  if (!header) return { header: [], records: [] };
  const records = rows.map((r, n) => {
    if (r.length !== header.length) throw new CsvError(`expected ${header.length} fields, found ${r.length}`, n + 2);
    const rec: Record<string, string> = {};
    header.forEach((h, j) => (rec[h] = r[j]!));
    return rec;
  });
  return { header, records };
}

/** The training log: one JSON object per line, appended (so a resumed run continues it). */
import { promises as fs, createWriteStream, type WriteStream } from 'node:fs';

export interface LogRecord {
  kind: 'train' | 'val' | 'event';
  iteration: number;
  time: number;
  [key: string]: unknown;
}

export class JsonlLog {
  private stream?: WriteStream;
  constructor(readonly file: string) {}

  append(record: LogRecord): void {
    this.stream ??= createWriteStream(this.file, { flags: 'a' });
    this.stream.write(JSON.stringify(record) + '\n');
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve) => s.end(resolve));
  }

  /** Read every record (tolerating a torn last line from a crash). */
  static async read(file: string): Promise<LogRecord[]> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return [];
    }
    const out: LogRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as LogRecord);
      } catch {
        /* torn line */
      }
    }
    return out;
  }

  /** Drop records past `iteration` (after resuming from an earlier checkpoint). */
  static async truncateAfter(file: string, iteration: number): Promise<void> {
    const records = await JsonlLog.read(file);
    const kept = records.filter((r) => r.iteration <= iteration);
    if (kept.length === records.length) return;
    await fs.writeFile(file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  }
}

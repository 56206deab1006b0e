/**
 * The JSON lines one daemon process wrote to its log file after a given
 * offset: what a command that started or stopped it reports from there.
 */
import { readFileSync } from 'node:fs';

export interface DaemonLogRecord {
  level?: unknown;
  pid?: unknown;
  msg?: unknown;
  [field: string]: unknown;
}

/** Records of `pid` in `path` past byte `from`; none when the file cannot be read. */
export function daemonLogRecords(
  path: string | undefined,
  from: number,
  pid: number | undefined,
): DaemonLogRecord[] {
  if (path === undefined || pid === undefined) return [];
  let text: string;
  try {
    text = readFileSync(path).subarray(from).toString('utf8');
  } catch {
    return [];
  }
  const records: DaemonLogRecord[] = [];
  for (const line of text.split('\n')) {
    try {
      const record = JSON.parse(line) as DaemonLogRecord;
      if (record.pid === pid) records.push(record);
    } catch {
      // Not a log record (a crash trace, say): the log has it.
    }
  }
  return records;
}

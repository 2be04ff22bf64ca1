/**
 * CronJob schedules (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax):
 * the five standard cron fields (minute, hour, day of month, month, day of week; when both day
 * fields are restricted either may match, as in Vixie cron and robfig/cron) or a macro
 * (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`), read in the
 * CronJob's `spec.timeZone` (an IANA name; UTC when unset). Parsing and the calendar arithmetic,
 * daylight-saving changes included, are cron-parser's.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { fieldInvalid, fieldRequired, type FieldError } from './errors.js';
import type { KubeObject } from './types.js';
import { validateObjectMeta } from './validation.js';

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** Thrown for a schedule or time zone Kubernetes would reject; `message` says why. */
export class ScheduleError extends Error {
  readonly code = 'InvalidSchedule';
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/** True if `tz` names an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return !tz.startsWith('-') && tz !== '' && !/^(Local)$/i.test(tz);
  } catch {
    return false;
  }
}

/**
 * A parsed schedule. Throws ScheduleError for a schedule that is not five fields or a macro, for
 * a `TZ=`/`CRON_TZ=` prefix (Kubernetes asks for `spec.timeZone` instead), for values out of
 * range, and for an unknown time zone.
 */
export function parseSchedule(schedule: string, timeZone?: string): { next(after: number): number; prev(before: number): number } {
  const s = schedule.trim();
  if (/^(CRON_)?TZ=/.test(s)) throw new ScheduleError('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  if (timeZone !== undefined && !isTimeZone(timeZone)) throw new ScheduleError(`unknown time zone ${timeZone}`);
  if (s.startsWith('@')) {
    if (!MACROS.has(s)) throw new ScheduleError(`unrecognized descriptor: ${s}`);
  } else {
    const fields = s.split(/\s+/).filter(Boolean);
    if (fields.length !== 5) throw new ScheduleError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  }
  const tz = timeZone ?? 'UTC';
  const at = (ms: number): CronExpression => {
    try {
      return CronExpressionParser.parse(s, { currentDate: new Date(ms), tz });
    } catch (e) {
      throw new ScheduleError((e as Error).message);
    }
  };
  at(Date.UTC(2026, 0, 1)); // validate once
  return {
    next: (after) => at(after).next().getTime(),
    prev: (before) => at(before).prev().getTime(),
  };
}

/**
 * The most recent schedule time in (`earliest`, `now`], and how many were missed in that window
 * (capped at 101, past which Kubernetes reports "too many missed start times"). `undefined` when
 * none falls in the window.
 */
export function mostRecentScheduleTime(schedule: ReturnType<typeof parseSchedule>, earliest: number, now: number): { time: number; missed: number } | undefined {
  let t = schedule.next(earliest);
  if (t > now) return undefined;
  let last = t;
  let missed = 1;
  while (missed <= 100) {
    t = schedule.next(t);
    if (t > now) return { time: last, missed };
    last = t;
    missed++;
  }
  // Many missed: jump straight to the latest one before now.
  const latest = schedule.prev(now + 1);
  return { time: latest, missed };
}

/** CronJob validation for the fields berth reads (ValidateCronJob): schedule, time zone, policies, limits. */
export function validateCronJob(obj: KubeObject): FieldError[] {
  const out = validateObjectMeta(obj.metadata, true);
  const spec = obj.spec as { schedule?: unknown; timeZone?: unknown; concurrencyPolicy?: unknown; startingDeadlineSeconds?: unknown; successfulJobsHistoryLimit?: unknown; failedJobsHistoryLimit?: unknown; jobTemplate?: unknown } | undefined;
  if (!spec) return [...out, fieldRequired('spec')];
  if (typeof spec.schedule !== 'string' || spec.schedule.trim() === '') out.push(fieldRequired('spec.schedule'));
  if (spec.timeZone !== undefined && (typeof spec.timeZone !== 'string' || !isTimeZone(spec.timeZone))) out.push(fieldInvalid('spec.timeZone', spec.timeZone, `unknown time zone ${String(spec.timeZone)}`));
  else if (typeof spec.schedule === 'string' && spec.schedule.trim() !== '') {
    try {
      parseSchedule(spec.schedule, spec.timeZone as string | undefined);
    } catch (e) {
      out.push(fieldInvalid('spec.schedule', spec.schedule, (e as Error).message));
    }
  }
  if (spec.concurrencyPolicy !== undefined && !['Allow', 'Forbid', 'Replace'].includes(spec.concurrencyPolicy as string)) {
    out.push({ type: 'FieldValueNotSupported', field: 'spec.concurrencyPolicy', detail: `Unsupported value: ${JSON.stringify(spec.concurrencyPolicy)}: supported values: "Allow", "Forbid", "Replace"` });
  }
  for (const f of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'] as const) {
    const v = spec[f];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) out.push(fieldInvalid(`spec.${f}`, v, 'must be greater than or equal to 0'));
  }
  if (!spec.jobTemplate) out.push(fieldRequired('spec.jobTemplate'));
  return out;
}

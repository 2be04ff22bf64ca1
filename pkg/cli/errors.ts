/**
 * How the CLI reports failures: every error becomes one line on stderr, as kubectl prints it, and
 * exit code 1. No stack traces for what a user did wrong.
 */
import { StatusError } from '../api/errors.js';
import { UnknownResourceError } from '../api/resources.js';
import { ConnectionError } from '../client/http.js';

/** Thrown for a user mistake or a failed precondition; printed as `error: <message>`. */
export class CliError extends Error {
  readonly code = 'CliError';
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Thrown when a command has already printed what went wrong and only needs to exit with
 * `exitCode` (apply's per-document errors, get's NotFound after a partial table).
 */
export class ReportedError extends Error {
  readonly code = 'Reported';
  constructor(readonly exitCode = 1) {
    super('the error was reported');
    this.name = 'ReportedError';
  }
}

/** `Error from server (<reason>): <message>` for API errors, kubectl's wording for the rest. */
export function errorLine(e: unknown): string {
  if (e instanceof StatusError) return statusLine(e);
  if (e instanceof ConnectionError) return e.message;
  if (e instanceof UnknownResourceError) return `error: ${e.message}`;
  const msg = e instanceof Error ? e.message : String(e);
  return msg.startsWith('error: ') ? msg : `error: ${msg}`;
}

/** kubectl's line for a StatusError, optionally with context (`error when applying "x.yaml"`). */
export function statusLine(e: StatusError, context?: string): string {
  return `Error from server (${e.reason || 'InternalError'}): ${context ? `${context}: ` : ''}${e.message}`;
}

/**
 * Where the CLI reads and writes. `cmd/berth/main.ts` wires it to the process; tests capture it.
 */
export interface IO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** All of standard input (for `-f -`). */
  stdin: () => Promise<string>;
  /** Environment for `$KUBECONFIG` and `$HOME` (default: `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Ends a running `get -w`; without it a watch runs until the server closes the stream. */
  signal?: AbortSignal;
  /** Time in ms used for the ages `describe` computes itself (default `Date.now`). */
  now?: () => number;
  /** True when stderr is a terminal: long commands (`simulate`) draw a progress bar there. Default false. */
  stderrIsTTY?: boolean;
}

/**
 * Progress output of the demo: one line per step, with colour and a spinner on a TTY and plain
 * lines otherwise (CI logs, pipes).
 */
import type { WriteStream } from 'node:tty';

/** Outcome of one demo step. */
export interface StepResult {
  ok: boolean;
  /** One line shown after the step name, e.g. live numbers. */
  detail: string;
  /** Extra lines shown under the step (indented). */
  lines?: readonly string[];
  /**
   * The capability cannot be shown yet (a feature that has not landed): printed with `○`,
   * counted neither as passed nor as failed. `ok` must be true.
   */
  isPending?: boolean;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Writes step progress to a stream; see the module comment. */
export class Reporter {
  readonly #out: NodeJS.WritableStream;
  readonly #isTty: boolean;

  constructor(out: NodeJS.WritableStream = process.stdout) {
    this.#out = out;
    this.#isTty = Boolean((out as WriteStream).isTTY) && !process.env['NO_COLOR'];
  }

  #paint(code: number, text: string): string {
    return this.#isTty ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  /** Prints a heading line. */
  heading(text: string): void {
    this.#out.write(`${this.#paint(1, text)}\n`);
  }

  /** Prints a plain informational line. */
  info(text: string): void {
    this.#out.write(`  ${text}\n`);
  }

  /**
   * Runs one step, showing a spinner while it works (TTY only), then one line with ✔, ✘ or ○
   * (pending).
   * A step that throws counts as failed with the error message as its detail.
   */
  async step(name: string, run: () => Promise<StepResult>): Promise<StepResult> {
    let frame = 0;
    const timer = this.#isTty
      ? setInterval(() => this.#out.write(`\r${this.#paint(36, FRAMES[frame++ % FRAMES.length] ?? '')} ${name}`), 80)
      : undefined;
    timer?.unref();
    let result: StepResult;
    try {
      result = await run();
    } catch (err) {
      result = { ok: false, detail: err instanceof Error ? err.message : String(err) };
    } finally {
      if (timer) clearInterval(timer);
    }
    const mark = result.isPending ? this.#paint(33, '○') : result.ok ? this.#paint(32, '✔') : this.#paint(31, '✘');
    this.#out.write(`${this.#isTty ? '\r\x1b[K' : ''}${mark} ${name} — ${result.detail}\n`);
    for (const line of result.lines ?? []) this.#out.write(`    ${line}\n`);
    return result;
  }
}

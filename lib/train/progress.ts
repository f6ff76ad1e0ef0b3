/**
 * A progress line on stderr: iteration, it/s, ETA and the latest losses. On a terminal it redraws one line (at most 5
 * times a second); otherwise (CI, logs, notebooks) it prints a plain line every `everyPercent` of the run.
 */
const encoder = new TextEncoder();

export interface ProgressOptions {
  total: number;
  /** First iteration of this process (a resumed run starts above 0; its rate counts only this process's steps). */
  start?: number;
  label?: string;
  everyPercent?: number;
  /** Where to write; defaults to stderr. */
  write?: (text: string) => void;
  tty?: boolean;
  now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`;
}

export class Progress {
  private readonly start: number;
  private readonly t0: number;
  private lastDraw = -Infinity;
  private nextPercent: number;
  private readonly write: (text: string) => void;
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.start = opts.start ?? 0;
    this.now = opts.now ?? (() => performance.now());
    this.t0 = this.now();
    this.write = opts.write ?? ((t) => Deno.stderr.writeSync(encoder.encode(t)));
    this.tty = opts.tty ?? Deno.stderr.isTerminal();
    const every = opts.everyPercent ?? 5;
    this.nextPercent = Math.floor((100 * this.start) / opts.total / every) * every + every;
  }

  /** The line for `iteration` completed iterations. */
  line(iteration: number, losses: Record<string, number>): string {
    const elapsed = (this.now() - this.t0) / 1000;
    const done = iteration - this.start;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (this.opts.total - iteration) / rate : NaN;
    const pct = ((100 * iteration) / this.opts.total).toFixed(1);
    const parts = Object.entries(losses).map(([k, v]) =>
      `${k} ${Number.isNaN(v) ? "-" : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3)}`
    );
    return `${this.opts.label ? this.opts.label + " " : ""}${iteration}/${this.opts.total} (${pct}%) ` +
      `${rate.toFixed(2)} it/s ETA ${formatDuration(eta)} | ${parts.join(" ")}`;
  }

  update(iteration: number, losses: Record<string, number>): void {
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw < 200 && iteration < this.opts.total) return;
      this.lastDraw = t;
      this.write(`\r\x1b[2K${this.line(iteration, losses)}`);
      return;
    }
    const pct = (100 * iteration) / this.opts.total;
    if (pct + 1e-9 >= this.nextPercent || iteration === this.opts.total) {
      const every = this.opts.everyPercent ?? 5;
      while (this.nextPercent <= pct + 1e-9) this.nextPercent += every;
      this.write(this.line(iteration, losses) + "\n");
    }
  }

  /** Ends the redrawn line on a terminal. */
  done(): void {
    if (this.tty) this.write("\n");
  }
}

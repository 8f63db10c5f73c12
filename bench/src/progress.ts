// Progress on stderr (stdout stays clean for the table or --json): a redrawn bar when stderr is a
// terminal, else one plain line per finished job (suite × thread count), which reads well in CI
// logs and never fills them with carriage returns.

const BAR = 28

export class Progress {
  readonly #tty: boolean
  readonly #jobs: number
  readonly #started = Date.now()
  #job = 0
  #jobName = ''
  #jobStart = Date.now()
  #drawn = false

  constructor(jobs: number, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.#tty = Boolean(stream.isTTY)
    this.#jobs = jobs
  }

  startJob(index: number, name: string): void {
    this.#job = index
    this.#jobName = name
    this.#jobStart = Date.now()
    this.update(0, 1, 'starting')
  }

  /** `done` of `total` measurements of the current job finished; `label` is the next one. */
  update(done: number, total: number, label: string): void {
    if (!this.#tty) return
    const frac = (this.#job + (total > 0 ? done / total : 0)) / this.#jobs
    const filled = Math.round(frac * BAR)
    const elapsed = Math.round((Date.now() - this.#started) / 1000)
    const time = `${Math.floor(elapsed / 60)}m${String(elapsed % 60).padStart(2, '0')}s`
    const line = `[${'█'.repeat(filled)}${'░'.repeat(BAR - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%  ${this.#job + 1}/${this.#jobs} ${this.#jobName}: ${label}  ${time}`
    const width = this.stream.columns ?? 100
    this.stream.write(`\r\x1b[2K${line.slice(0, width - 1)}`)
    this.#drawn = true
  }

  endJob(failed?: string): void {
    const seconds = ((Date.now() - this.#jobStart) / 1000).toFixed(1)
    if (!this.#tty || failed) this.log(`bench [${this.#job + 1}/${this.#jobs}] ${this.#jobName}: ${failed ? `FAILED: ${failed}` : 'done'} (${seconds} s)`)
  }

  /** A line of text that must not be overwritten by the bar. */
  log(line: string): void {
    this.clear()
    this.stream.write(line.endsWith('\n') ? line : line + '\n')
  }

  clear(): void {
    if (this.#drawn) this.stream.write('\r\x1b[2K')
    this.#drawn = false
  }
}

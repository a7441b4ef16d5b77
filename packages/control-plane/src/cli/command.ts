/** One `weft` subcommand. */
export interface Command {
  /** The word after `weft`. */
  name: string;
  /** One line for `weft --help`. */
  summary: string;
  /** Argument synopsis for `weft --help`, e.g. `--config PATH… [--xds-port N]`. */
  synopsis: string;
  /**
   * Runs the command with the arguments after its name and resolves to the exit code.
   * Usage mistakes throw a MeshError with code `WEFT_ERR_USAGE` (exit 2).
   */
  run(args: string[]): Promise<number>;
}

/**
 * A command-line mistake. The message is ONE line that names the flag, what was
 * expected and what was given; main prints it as is (no stack) and exits non-zero.
 */
export class CliError extends Error {
  /** `options.cause`: the error this one reports (a ConfigError, a parseArgs error). */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
  }
}

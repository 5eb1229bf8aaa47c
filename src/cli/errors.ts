/**
 * A command-line mistake. The message is ONE line that names the flag, what was
 * expected and what was given; main prints it as is (no stack) and exits non-zero.
 */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/**
 * The error every config parser throws for bad operator input. Its message is one
 * line of the form `expected X; got "Y"` (or a short sentence) and never names the
 * source (CLI flag, YAML key): the caller adds that prefix, so one parser serves all.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Bad input to the viewer (an unknown scenario, a driver it does not run on, a schedule that does
 * not parse or does not fit the scenario, a malformed link). The message says what was given and
 * what is expected, and is shown to the user as is.
 */
export class ViewerInputError extends Error {
  override readonly name = 'ViewerInputError';
}

/** The exploration was cancelled by its caller. */
export class ViewerCancelledError extends Error {
  override readonly name = 'ViewerCancelledError';
}

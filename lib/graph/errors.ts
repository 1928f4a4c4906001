/**
 * The error the graph compiler raises for a model it cannot lower (a layer type, a setting, a
 * loss or an optimizer it does not handle). The training engine catches it and, under 'auto',
 * trains with tfjs's eager engine instead, giving the message as the reason.
 */
export class UnsupportedModelError extends Error {
  override readonly name = 'UnsupportedModelError';
}

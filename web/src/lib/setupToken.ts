/**
 * The one-time setup token `stacksnap serve` prints as part of the setup URL
 * (`/?setup_token=…`); the server refuses the first-run setup without it. It is taken
 * out of the address bar at once so that it does not stay in the browser's history.
 */
export function takeSetupToken(
  location: Pick<Location, 'search' | 'pathname' | 'hash'> = window.location,
  history: Pick<History, 'state' | 'replaceState'> = window.history,
): string {
  const params = new URLSearchParams(location.search);
  const token = (params.get('setup_token') ?? '').trim();
  if (params.has('setup_token')) {
    params.delete('setup_token');
    const rest = params.toString();
    history.replaceState(history.state, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
  }
  return token;
}

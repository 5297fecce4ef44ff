// The one-time setup token `stacksnap serve` prints as part of the setup URL
// (`/?setup_token=…`); the server refuses the first-run setup without it.

/** The token in a query string ("" when there is none). */
export function setupTokenFrom(search: string): string {
  return (new URLSearchParams(search).get('setup_token') ?? '').trim();
}

/**
 * The same address without the token (so that it does not stay in the address bar and
 * the history), or null when there was none to remove.
 */
export function withoutSetupToken(location: Pick<Location, 'search' | 'pathname' | 'hash'>): string | null {
  const params = new URLSearchParams(location.search);
  if (!params.has('setup_token')) return null;
  params.delete('setup_token');
  const rest = params.toString();
  return `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`;
}

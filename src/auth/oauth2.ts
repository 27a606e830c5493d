/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): the client's id and secret, sent with HTTP Basic
 * authentication (§2.3.1), buy an access token from the token endpoint. Its `expires_in` says
 * when to buy the next: a minute before it expires or at 90% of its lifetime, whichever comes
 * first (but not before half of it), so a long run never sends an expired token.
 */
import type { Dispatcher } from 'undici';
import { AuthError, type Grant } from './grant.js';

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

export function clientCredentialsSource(
  settings: ClientCredentials,
  options: { dispatcher: Dispatcher; timeoutMs: number; now: () => number },
): () => Promise<Grant> {
  return async () => {
    const { request } = await import('undici');
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (settings.scope !== undefined) form.set('scope', settings.scope);
    const basic = Buffer.from(`${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.clientSecret)}`).toString('base64');
    const askedAt = options.now();
    let status: number;
    let text: string;
    try {
      const answer = await request(settings.tokenUrl, {
        method: 'POST',
        dispatcher: options.dispatcher,
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      status = answer.statusCode;
      text = await answer.body.text();
    } catch (error) {
      throw new AuthError(`the token endpoint (--oauth2-token-url) could not be reached: ${(error as Error).message}`);
    }
    if (status !== 200) throw new AuthError(`the token endpoint (--oauth2-token-url) answered ${status}${oauthError(text)}`);
    let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new AuthError('the token endpoint (--oauth2-token-url) answered with something that is not JSON');
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') throw new AuthError('the token endpoint (--oauth2-token-url) gave no access_token');
    const type = typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer' ? body.token_type : 'Bearer';
    const grant: Grant = { name: 'Authorization', value: `${type} ${body.access_token}` };
    const lifetimeS = Number(body.expires_in);
    if (Number.isFinite(lifetimeS) && lifetimeS > 0) {
      // A minute before expiry or at 90% of the lifetime, whichever is first; never before half
      // of it, so a token of a minute or less is not bought again at once.
      const lifetimeMs = lifetimeS * 1000;
      grant.refreshAtMs = askedAt + Math.max(lifetimeMs / 2, Math.min(lifetimeMs - 60_000, lifetimeMs * 0.9));
    }
    return grant;
  };
}

/** The endpoint's `error` code (RFC 6749 §5.2), which names no secret: `invalid_client` and the like. */
function oauthError(text: string): string {
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    return typeof error === 'string' && /^[\w.-]{1,64}$/.test(error) ? ` (${error})` : '';
  } catch {
    return '';
  }
}

/**
 * The run's current credential, kept fresh: asked for before the first request, again when it
 * is due (--auth-ttl, or the token's own expiry) and after a 401. One refresh at a time however
 * many requests are in flight: starts wait for it, and a 401 to a request that carried an older
 * credential is simply sent again with the current one. Every value is handed to the redactor
 * before any request carries it.
 */
import { AuthError, type Grant, type GrantSource } from './grant.js';

export interface Credential extends Grant {
  /** Counts refreshes: a 401 to a request sent with an older one needs no new refresh. */
  generation: number;
}

export class RunCredentials {
  #current: Credential | undefined;
  #refreshing: Promise<Credential> | undefined;
  #obtainedAt = 0;

  constructor(
    private readonly source: GrantSource,
    private readonly settings: { ttlMs: number | undefined; now: () => number; onSecret: (value: string) => void },
  ) {}

  /** The credential to send now, refreshed first when it is due. Rejects with AuthError when the source fails. */
  async ready(): Promise<Credential> {
    if (this.#refreshing) return this.#refreshing;
    const current = this.#current;
    if (current === undefined || this.#isDue(current)) return this.#refresh();
    return current;
  }

  /** After a 401 to a request that carried `generation`: a fresh credential, asked for once. */
  async after401(generation: number): Promise<Credential> {
    if (this.#refreshing) return this.#refreshing;
    if (this.#current !== undefined && this.#current.generation > generation) return this.#current;
    return this.#refresh();
  }

  #isDue(current: Credential): boolean {
    const now = this.settings.now();
    if (current.refreshAtMs !== undefined && now >= current.refreshAtMs) return true;
    return this.settings.ttlMs !== undefined && now - this.#obtainedAt >= this.settings.ttlMs;
  }

  #refresh(): Promise<Credential> {
    const generation = (this.#current?.generation ?? 0) + 1;
    this.#refreshing = this.source()
      .then((grant) => {
        if (/[\r\n]/.test(grant.value)) throw new AuthError('the credential holds a line break (it is not shown)');
        this.settings.onSecret(grant.value);
        const token = grant.value.replace(/^\S+\s+/, '');
        if (token !== grant.value) this.settings.onSecret(token);
        this.#current = { ...grant, generation };
        this.#obtainedAt = this.settings.now();
        return this.#current;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }
}

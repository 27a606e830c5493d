/** The one table from undici and socket error codes to our record codes. */
import type { ErrorCode } from '../record/error-codes.js';

const CODE_TABLE: { [code: string]: { code: ErrorCode; message: string } } = {
  ECONNREFUSED: { code: 'CONNECTION_REFUSED', message: 'connection refused' },
  ECONNRESET: { code: 'CONNECTION_RESET', message: 'connection reset by the server' },
  EPIPE: { code: 'CONNECTION_RESET', message: 'connection closed while sending' },
  UND_ERR_SOCKET: { code: 'CONNECTION_RESET', message: 'connection closed by the server' },
  UND_ERR_CLOSED: { code: 'CONNECTION_RESET', message: 'connection closed' },
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: { code: 'CONNECTION_RESET', message: 'body ended before its Content-Length' },
  UND_ERR_CONNECT_TIMEOUT: { code: 'TIMEOUT', message: 'connect timed out' },
  UND_ERR_HEADERS_TIMEOUT: { code: 'TIMEOUT', message: 'timed out waiting for headers' },
  UND_ERR_BODY_TIMEOUT: { code: 'TIMEOUT', message: 'timed out reading the body' },
  ETIMEDOUT: { code: 'TIMEOUT', message: 'connect timed out' },
  ENOTFOUND: { code: 'DNS_FAILURE', message: 'host name not found' },
  EAI_AGAIN: { code: 'DNS_FAILURE', message: 'host name lookup failed temporarily' },
  EAI_FAIL: { code: 'DNS_FAILURE', message: 'host name lookup failed' },
  EHOSTUNREACH: { code: 'NETWORK_ERROR', message: 'host unreachable' },
  ENETUNREACH: { code: 'NETWORK_ERROR', message: 'network unreachable' },
  UND_ERR_INVALID_ARG: { code: 'NETWORK_ERROR', message: 'invalid request' },
  UND_ERR_HEADERS_OVERFLOW: { code: 'NETWORK_ERROR', message: 'response headers too large' },
  Z_DATA_ERROR: { code: 'DECODE_ERROR', message: 'the body could not be decompressed' },
  Z_BUF_ERROR: { code: 'DECODE_ERROR', message: 'the compressed body is truncated' },
  ERR__ERROR_FORMAT_PADDING_1: { code: 'DECODE_ERROR', message: 'the body could not be decompressed' },
};

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

/** Finds the first known code along the error's cause chain. */
export function classifyError(error: unknown): { code: ErrorCode; message: string } {
  const seen = new Set<unknown>();
  for (let current = error; current && typeof current === 'object' && !seen.has(current); ) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    // undici's parser errors often carry no code at all (it looks the code up by number in a
    // table keyed by name), so they are known by name; llhttp's reason is fixed text.
    if ((current as { name?: unknown }).name === 'HTTPParserError' || (typeof code === 'string' && code.startsWith('HPE_'))) {
      const reason = /\(([^()]{1,80})\)$/.exec(String((current as { message?: unknown }).message))?.[1];
      return { code: 'NETWORK_ERROR', message: `the server sent invalid HTTP${reason ? ` (${reason})` : ''}` };
    }
    if (typeof code === 'string') {
      const known = CODE_TABLE[code];
      if (known) return known;
      if (TLS_CODE.test(code)) return { code: 'TLS_ERROR', message: `TLS failure (${code})` };
      if (code.startsWith('ERR_BROTLI') || code.startsWith('ERR__')) {
        return { code: 'DECODE_ERROR', message: 'the body could not be decompressed' };
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return { code: 'NETWORK_ERROR', message: typeof code === 'string' ? `network error (${code})` : 'network error' };
}

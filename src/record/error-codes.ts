/** A leaf module: every stage may name a failure code without importing the record. */

/** Stable failure codes. Each maps from one place: http/classify.ts or the scheduler. */
export type ErrorCode =
  | 'INVALID_URL' // the input line is not an absolute http(s) URL
  | 'INVALID_INPUT' // the input format could not parse the item (a malformed CSV row, an NDJSON line that is not an object)
  | 'TEMPLATE_MISSING_VALUE' // a placeholder in the template has no value in this item
  | 'HTTP_STATUS' // the server answered with a non-2xx status, or one --expect-status does not list (see `status`)
  | 'SCHEMA_MISMATCH' // the JSON body does not match --schema (see `schemaErrors`)
  | 'TIMEOUT' // the attempt did not finish within --timeout
  | 'CONNECTION_REFUSED' // nothing listens there (ECONNREFUSED)
  | 'CONNECTION_RESET' // the peer closed the connection mid-request
  | 'DNS_FAILURE' // the host name does not resolve
  | 'TLS_ERROR' // certificate or handshake failure
  | 'NETWORK_ERROR' // any other socket-level failure
  | 'BODY_TOO_LARGE' // decoded body exceeded --max-body
  | 'DECODE_ERROR' // the body could not be decompressed
  | 'TOO_MANY_REDIRECTS' // more hops than --max-redirects, or a loop
  | 'BAD_REDIRECT' // a 3xx whose Location is missing or not http(s)
  | 'RETRY_AFTER_TOO_LONG' // the server asked us to wait longer than --max-retry-after
  | 'INTERRUPTED' // the run was stopped (SIGINT/SIGTERM) before this input finished
  | 'BUDGET_EXHAUSTED' // --max-requests ran out before this input finished
  | 'CIRCUIT_OPEN' // the circuit breaker stopped the run before this input finished
  | 'AUTH_FAILED' // no credential could be had (--auth-command, --oauth2-token-url): the run stopped before this input finished
  | 'BATCH_MISSING' // --batch: the batch's answer has no element for this input's value (the API does not know it)
  | 'BATCH_UNREADABLE' // --batch: the batch's answer was accepted but is not JSON with an array at --batch-split
  // --save
  | 'SAVE_PATH_REFUSED' // the input's --save path would leave the save directory (a value with /, .., NUL; a link out), or is another input's
  | 'FILE_TOO_LARGE' // the body to save exceeded --max-filesize: its download was stopped and nothing kept
  | 'SAVE_FAILED'; // the body could not be written to its file (disk full, permission denied): nothing kept

// How long the server waits for a client. The kube-apiserver gives a webhook
// call `timeoutSeconds` (default 10, at most 30) in all and sends the whole
// AdmissionReview at once, so a request still arriving after 30 s is one no
// apiserver is waiting for: without these limits a client could hold a
// connection (and up to 8 MiB of body) for ever.

export interface Timeouts {
  /** TLS handshake done within this (tls.Server handshakeTimeout; Node's default is 120 s). */
  handshakeMs: number;
  /** Request line and headers received within this, from the connection's first byte. */
  headersMs: number;
  /** The whole request, body included, received within this: the kube-apiserver's longest webhook timeout. */
  requestMs: number;
  /** How often Node checks the two above (its default, 30 s, would let a stalled request live up to twice as long). */
  checkIntervalMs: number;
}

export const TIMEOUTS: Timeouts = {
  handshakeMs: 10_000,
  headersMs: 10_000,
  requestMs: 30_000,
  checkIntervalMs: 1_000,
};

// The webhook's own settings: the fields of the config's `kubernetes:` and
// `terraform:` sections that only `entitlegate serve` reads (admission failure
// policy, reservations, the HCP Terraform run task). The adapters' settings
// (how objects and plans are read) live with the adapters; the config schema
// composes them. Field shapes only, so the composition can spread them into
// the sections users already write: the config file does not change.
import * as z from 'zod/mini';
import { claimScope } from '../engine/config/schema.ts';

/** `kubernetes:` fields of the admission webhook. */
export const admissionSettingsFields = {
  /** Namespaces where an evaluation error admits instead of denying. */
  failOpenNamespaces: z._default(z.array(z.string()), []),
  /** How long an admitted object's reservation lives if no informer sees it (on a monotonic clock). */
  reservationTTLSeconds: z._default(z.int().check(z.positive()), 120),
  /** Reservations shared by every webhook replica, kept in one coordination.k8s.io/v1 Lease per product in this namespace. */
  sharedReservations: z.optional(
    z.strictObject({
      namespace: z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name')),
      /** Reads and conditional writes of one Lease before the admission fails safe. */
      maxAttempts: z._default(z.int().check(z.positive(), z.lte(50)), 8),
    }),
  ),
};

/** `terraform:` fields of the HCP Terraform run task. */
export const runTaskSettingsFields = {
  /**
   * HMAC key of the HCP Terraform run task, or the name of an env variable holding it (`env:NAME`).
   * Without it, `POST /terraform/run-task` is not served. Read on each request, so a reload rotates it.
   */
  runTaskHmacKey: z.optional(z.string()),
  /** Scope every run task plan is checked in (like a claim's scope); wins over the regions the plan gives. Read on each request. */
  runTaskScope: z.optional(claimScope),
  /**
   * Hosts (`app.terraform.io`, `tfe.example.com`, or `host:port`) the run task may fetch plans from and send
   * results to, also on a private or loopback address. Default: any host with public addresses, but the plan
   * URL and the callback URL must share one host.
   */
  runTaskHosts: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
};

export const admissionSettings = z.strictObject(admissionSettingsFields);
export const runTaskSettings = z.strictObject(runTaskSettingsFields);
export type AdmissionSettings = z.output<typeof admissionSettings>;
export type RunTaskSettings = z.output<typeof runTaskSettings>;

// What each built-in decision code means, for tools that show a rule beside a
// finding (SARIF rules in GitHub code scanning). The page each points at is
// docs/decision-codes.md; a custom Rego rule's code gets the generic entry.
export interface CodeDoc {
  /** PascalCase name, as SARIF's reportingDescriptor.name wants. */
  name: string;
  /** One sentence: when the gate reports it. */
  short: string;
  /** What to do about it. */
  help: string;
  kind: 'violation' | 'warning';
}

export const DOCS_URL = 'https://github.com/entitlegate/entitlegate/blob/main/docs/decision-codes.md';

export const CODES: Record<string, CodeDoc> = {
  OVER_ENTITLEMENT: {
    name: 'OverEntitlement',
    short: 'Projected usage exceeds the entitled capacity that covers the change.',
    help: 'Reduce the request, free capacity in the same scope, or ask the entitlement owner for more entitlement or an approved exception.',
    kind: 'violation',
  },
  UNLICENSED: {
    name: 'Unlicensed',
    short: 'A matched product has no entitlement at all.',
    help: 'Add an entitlement for the product to the config, or stop deploying it; `defaults.unlicensed: warn` reports it without blocking.',
    kind: 'violation',
  },
  OUT_OF_SCOPE: {
    name: 'OutOfScope',
    short: "The product has entitlements, but none covers the change's scope.",
    help: "Deploy into a scope an entitlement covers (environment, cluster, namespace, account, region), or widen an entitlement's scope.",
    kind: 'violation',
  },
  EXPIRED: {
    name: 'Expired',
    short: 'Every entitlement that covers the change has ended (past validUntil and graceDays).',
    help: 'Renew the contract and update validUntil in the config, or remove the deployment.',
    kind: 'violation',
  },
  NOT_YET_VALID: {
    name: 'NotYetValid',
    short: 'Every entitlement that covers the change starts after now.',
    help: 'Wait until validFrom, or correct validFrom in the config.',
    kind: 'violation',
  },
  UNKNOWN_QUANTITY: {
    name: 'UnknownQuantity',
    short: 'The licensed quantity of a resource cannot be determined.',
    help: 'Set CPU limits (or requests), a known instance type, or the entitlegate.io/quantity annotation; `defaults.unknownQuantity: warn` reports it without blocking.',
    kind: 'violation',
  },
  APPROACHING_LIMIT: {
    name: 'ApproachingLimit',
    short: 'Projected usage reaches defaults.warnAt of the capacity.',
    help: 'Plan a true-up or free capacity before the next change is blocked.',
    kind: 'warning',
  },
  EXPIRING_SOON: {
    name: 'ExpiringSoon',
    short: 'A covering entitlement ends within defaults.expiryWarningDays.',
    help: 'Start the renewal; update validUntil in the config once it is signed.',
    kind: 'warning',
  },
  IN_GRACE_PERIOD: {
    name: 'InGracePeriod',
    short: 'Capacity comes from an entitlement past validUntil but within its graceDays.',
    help: 'Renew the contract before the grace period ends, when the change would be blocked as EXPIRED.',
    kind: 'warning',
  },
  EXCEPTION_APPLIED: {
    name: 'ExceptionApplied',
    short: 'The change fits only thanks to an approved, time-boxed exception.',
    help: 'Buy the capacity before the exception ends, or plan to scale down by then.',
    kind: 'warning',
  },
  TRANSIENT_PEAK: {
    name: 'TransientPeak',
    short: 'The change fits when done, but exceeds capacity at its peak (rolling-update surge, create-before-destroy).',
    help: 'Lower maxSurge, roll out in smaller steps, or use an exception for the cutover; `defaults.peak: deny` blocks it.',
    kind: 'warning',
  },
  STALE_USAGE: {
    name: 'StaleUsage',
    short: 'A usage source reporting to the ledger has been silent for longer than its staleAfter.',
    help: 'Check the source that reports usage (cluster, Terraform, SAM import); decisions may undercount until it reports again.',
    kind: 'warning',
  },
};

export const CUSTOM_CODE: Omit<CodeDoc, 'kind'> = {
  name: 'CustomRule',
  short: "A rule of your organisation's own Rego policy.",
  help: 'See the rule in your policy folder (entitlegate policy build); its message says what it wants.',
};

/** The anchor of a code's section in docs/decision-codes.md. */
export function codeAnchor(code: string): string {
  return CODES[code] ? code.toLowerCase() : 'custom-rules';
}

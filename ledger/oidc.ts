// GitHub Actions OIDC: a workflow with `id-token: write` asks GitHub for a
// token with the ledger's audience and sends it as its bearer token; no
// secret is stored in the workflow. The token is verified with jose (RS256
// signature against the issuer's JWKS, issuer, audience, expiry, not-before,
// at the ledger's clock) and its claims are mapped to roles by the config's
// rules (ledger.oidc). A token no rule matches gets no role: 403.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { AuthError } from './auth.ts';
import { glob } from './glob.ts';
import { OIDC_CLAIMS, type OidcRule, type OidcSettings } from './governance-settings.ts';
import type { Identity } from './identity.ts';
import type { Role } from './store/types.ts';

/** Why a token was refused, in words a workflow author can act on. */
function refusal(err: unknown, s: OidcSettings): string {
  if (err instanceof errors.JWTExpired) return 'the OIDC token has expired; request a fresh one in the step that calls the ledger';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return `the OIDC token's issuer is not ${s.issuer}`;
    if (err.claim === 'aud') return `the OIDC token's audience is not "${s.audience}"; request it with core.getIDToken('${s.audience}')`;
    if (err.claim === 'nbf') return 'the OIDC token is not valid yet (nbf is in the future)';
    return `the OIDC token's claim ${err.claim} is not acceptable: ${err.reason}`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the OIDC token's signature does not verify against the issuer's keys";
  if (err instanceof errors.JWKSNoMatchingKey) return "the OIDC token is signed with a key the issuer's JWKS does not hold";
  if (err instanceof errors.JOSEError) return `the OIDC token was refused: ${err.message}`;
  return `the issuer's keys could not be read: ${(err as Error).message}`;
}

/** Every claim the rule names matches (`*` is any run of characters, slashes included: a ref, a workflow path). */
function matches(rule: OidcRule, claims: JWTPayload): boolean {
  return OIDC_CLAIMS.every((c) => {
    const want = rule.match[c];
    if (want === undefined) return true;
    const have = claims[c];
    return typeof have === 'string' && glob(want).test(have);
  });
}

export class OidcVerifier {
  private readonly settings: OidcSettings;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private readonly clock: () => Date;

  constructor(settings: OidcSettings, clock: () => Date) {
    this.settings = settings;
    this.clock = clock;
    const uri = settings.jwksUri ?? `${settings.issuer.replace(/\/+$/, '')}/.well-known/jwks`;
    this.jwks = createRemoteJWKSet(new URL(uri), { timeoutDuration: 5000 });
  }

  async identify(token: string): Promise<Identity> {
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.jwks, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'],
        currentDate: this.clock(),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw new AuthError(401, refusal(err, this.settings));
    }
    const name = String(claims.sub);
    const rules = this.settings.rules.filter((r) => matches(r, claims));
    const roles = [...new Set(rules.flatMap((r) => r.roles))] as Role[];
    if (roles.length === 0)
      throw new AuthError(
        403,
        `OIDC token of ${name} (repository ${String(claims.repository ?? '?')}, ref ${String(claims.ref ?? '?')}) matches no rule in ledger.oidc.rules, so it has no role`,
      );
    const who: Identity = { actor: `oidc:${name}`, name, roles };
    // A rule without products grants every product; otherwise the products of the matching rules.
    if (rules.every((r) => r.products)) who.products = [...new Set(rules.flatMap((r) => r.products!))].sort();
    // Likewise for the sources it may report as.
    if (rules.every((r) => r.sources)) who.sources = [...new Set(rules.flatMap((r) => r.sources!))].sort();
    return who;
  }
}

# METADATA
# title: EXCEPTION_APPLIED
# description: Part of the change is charged to a time-boxed exception.
package entitlegate.rules.exception_applied

import data.entitlegate.lib

# METADATA
# description: Each exception the change draws on, so its expiry is not a surprise.
warning contains lib.finding("EXCEPTION_APPLIED", c.product, charge.pool, message, [c.resource]) if {
	some c in input.claims
	some charge in c.charged
	input.pools[charge.pool].kind == "exception"
	exc := data.config.exceptions[charge.pool]
	message := sprintf(
		"%s: %s of the change uses exception %s (%s, approved by %s) which ends %s; make it permanent with an entitlement before then",
		[c.product, lib.num(charge.quantity), charge.pool, exc.reason, exc.approvedBy, exc.until],
	)
}

# METADATA
# title: EXCEPTION_APPLIED
# description: Part of the change is charged to a time-boxed exception.
package entitlegate.rules.exception_applied

import data.entitlegate.lib

# METADATA
# description: Each exception the change draws on, so its expiry is not a surprise.
warning contains lib.finding("EXCEPTION_APPLIED", c.product, charge.pool, message, [c.resource]) if {
	# no exception pool, no pass over the claims
	some id, pool in input.pools
	pool.kind == "exception"
	some c in input.claims
	some charge in c.charged
	charge.pool == id
	exc := data.config.exceptions[charge.pool]
	message := concat("", [
		c.product,
		": ",
		lib.num(charge.quantity),
		" of the change uses exception ",
		charge.pool,
		" (",
		exc.reason,
		", approved by ",
		exc.approvedBy,
		") which ends ",
		exc.until,
		"; make it permanent with an entitlement before then",
	])
}

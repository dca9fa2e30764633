# METADATA
# title: APPROACHING_LIMIT
# description: Projected usage at or above warnAt times capacity, but within it.
package entitlegate.rules.approaching_limit

import data.entitlegate.lib

# METADATA
# description: A product the change brings close to its capacity.
warning contains lib.finding("APPROACHING_LIMIT", pid, null, message, []) if {
	some pid, p in input.products
	p.capacity > 0
	p.requested > 0
	p.projected <= p.capacity
	p.projected >= data.config.defaults.warnAt * p.capacity

	# a product with a claim that does not fit is over, not approaching
	not lib.over_products[pid]
	message := concat("", [
		pid,
		": ",
		lib.num(p.projected),
		" of ",
		lib.num(p.capacity),
		" ",
		p.metric,
		" in use after this change (",
		lib.num(round((p.projected * 100) / p.capacity)),
		"%); plan more entitlement before the next deployment",
	])
}

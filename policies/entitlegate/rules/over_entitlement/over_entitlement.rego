# METADATA
# title: OVER_ENTITLEMENT
# description: |
#   A claim the accounting could not fit into the capacity that covers it
#   (its overflow is above zero) makes its product over entitlement. The
#   message counts the pools those claims can use, not every pool the change
#   touches: a dev pool with room does not help a prod claim.
package entitlegate.rules.over_entitlement

import data.entitlegate.lib

# METADATA
# description: One violation per product whose change does not fit.
violation contains lib.finding(
	"OVER_ENTITLEMENT", pid, entitlement, message,
	lib.resources(over),
) if {
	some pid in lib.over_products
	p := input.products[pid]

	# claims no usable entitlement covers are UNLICENSED, OUT_OF_SCOPE, EXPIRED or NOT_YET_VALID instead
	over := [c | some c in input.claims; c.overflow > 0; c.product == pid; lib.has_usable(c)]
	count(over) > 0
	shortfall := sum([c.overflow | some c in over])
	pools := {e.id | some c in over; some e in lib.usable(c)}
	capacity := sum([input.pools[id].capacity | some id in pools])
	used := sum([input.pools[id].used | some id in pools])
	needed := capacity + shortfall

	# the most specific usable entitlement of the first claim that does not fit, or null
	entitlement := array.concat([c.id | some c in lib.usable(over[0])], [null])[0]
	message := concat("", [
		pid,
		": ",
		lib.num(needed),
		" ",
		p.metric,
		" projected exceeds the ",
		lib.num(capacity),
		" ",
		p.metric,
		" covered (",
		lib.num(used),
		" used + ",
		lib.num(needed - used),
		" requested); reduce the request by ",
		lib.num(shortfall),
		" ",
		p.metric,
		", free capacity in this scope, or ask ",
		lib.owners(pid),
		" for more entitlement or an approved exception",
	])
}

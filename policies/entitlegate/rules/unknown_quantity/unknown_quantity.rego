# METADATA
# title: UNKNOWN_QUANTITY
# description: |
#   The adapter could not tell how much a resource uses (no CPU set, an
#   unknown instance type, a value known only after apply). A violation when
#   defaults.unknownQuantity is deny, a warning when it is warn.
package entitlegate.rules.unknown_quantity

import data.entitlegate.lib

_findings contains lib.finding("UNKNOWN_QUANTITY", c.product, null, message, [c.resource]) if {
	some c in input.claims
	c.quantity == null
	reason := object.get(c, "unknownReason", "the quantity cannot be determined")

	# What to do is in the input's own terms (CPU limits, an instance-type
	# table), which only the adapter that read it knows.
	remedy := object.get(c, "remedy", "set the quantity explicitly in the input")
	message := concat("", [
		c.product,
		": ",
		c.resource,
		" uses an unknown number of ",
		c.metric,
		": ",
		reason,
		"; ",
		remedy,
	])
}

# METADATA
# description: Unknown quantities, when the config denies them.
violation contains f if {
	lib.denies("unknownQuantity")
	some f in _findings
}

# METADATA
# description: Unknown quantities, when the config only warns.
warning contains f if {
	not lib.denies("unknownQuantity")
	some f in _findings
}

# METADATA
# title: TRANSIENT_PEAK
# description: |
#   The change fits once it is done, but not at its worst moment (rolling
#   update surge, create-before-destroy). A warning, or a violation when
#   defaults.peak is deny.
package entitlegate.rules.transient_peak

import data.entitlegate.lib

_findings contains lib.finding("TRANSIENT_PEAK", pid, null, message, lib.resources(claims)) if {
	some pid in lib.peak_over_products
	not lib.over_products[pid]
	p := input.products[pid]
	claims := [c | some c in input.claims; c.peakOverflow > 0; c.product == pid; lib.has_usable(c)]
	count(claims) > 0
	message := concat("", [
		pid,
		": the change fits when done (",
		lib.num(p.projected),
		" of ",
		lib.num(p.capacity),
		" ",
		p.metric,
		") but briefly needs ",
		lib.num(p.peak),
		" ",
		p.metric,
		" while old and new run side by side; lower the surge (maxSurge, create_before_destroy) or free capacity first",
	])
}

# METADATA
# description: Transient peaks over capacity, when the config denies them.
violation contains f if {
	lib.denies("peak")
	some f in _findings
}

# METADATA
# description: Transient peaks over capacity, when the config only warns.
warning contains f if {
	not lib.denies("peak")
	some f in _findings
}

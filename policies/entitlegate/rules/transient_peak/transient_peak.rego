# METADATA
# title: TRANSIENT_PEAK
# description: |
#   The change fits once it is done, but not at its worst moment (rolling
#   update surge, create-before-destroy). A warning, or a violation when
#   defaults.peak is deny.
package entitlegate.rules.transient_peak

import data.entitlegate.lib

_findings contains lib.finding("TRANSIENT_PEAK", pid, null, message, lib.resources(claims)) if {
	some pid, p in input.products
	count([c | some c in input.claims; c.product == pid; c.overflow > 0]) == 0
	claims := [c | some c in input.claims; c.product == pid; c.peakOverflow > 0; count(lib.usable(c)) > 0]
	count(claims) > 0
	message := sprintf(
		"%s: the change fits when done (%s of %s %s) but briefly needs %s %s while old and new run side by side; lower the surge (maxSurge, create_before_destroy) or free capacity first",
		[pid, lib.num(p.projected), lib.num(p.capacity), p.metric, lib.num(p.peak), p.metric],
	)
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

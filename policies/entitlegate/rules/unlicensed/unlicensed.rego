# METADATA
# title: UNLICENSED
# description: |
#   A matched product with no entitlement and no exception at all. A violation
#   when defaults.unlicensed is deny, a warning when it is warn.
package entitlegate.rules.unlicensed

import data.entitlegate.lib

_findings contains lib.finding("UNLICENSED", pid, null, message, lib.resources(claims)) if {
	some pid, _ in input.products
	data.config.products[pid].licensed == false
	claims := [c | some c in input.claims; c.product == pid; lib.adds(c)]
	count(claims) > 0
	message := concat("", [
		pid,
		" is deployed but the organisation holds no entitlement for it; buy one and add it to the config, or remove the deployment",
	])
}

# METADATA
# description: Unlicensed deployments, when the config denies them.
violation contains f if {
	lib.denies("unlicensed")
	some f in _findings
}

# METADATA
# description: Unlicensed deployments, when the config only warns.
warning contains f if {
	not lib.denies("unlicensed")
	some f in _findings
}

# METADATA
# title: OUT_OF_SCOPE
# description: |
#   The product has entitlements, but none (and no exception) covers the
#   claim's scope: environment, cluster, namespace, account or region.
package entitlegate.rules.out_of_scope

import data.entitlegate.lib

# METADATA
# description: One violation per product with claims outside every entitlement's scope.
violation contains lib.finding("OUT_OF_SCOPE", pid, null, message, lib.resources(claims)) if {
	some pid in _uncovered
	data.config.products[pid].licensed
	claims := [c | some c in input.claims; count(c.covering) == 0; c.product == pid; lib.adds(c)]
	count(claims) > 0
	message := concat("", [
		pid,
		": no entitlement covers scope ",
		lib.scope_text(claims[0].scope),
		"; deploy where the product is entitled, or extend an entitlement's scope (ask ",
		lib.owners(pid),
		")",
	])
}

# Products with an adding claim no entitlement or exception covers.
_uncovered contains c.product if {
	some c in input.claims
	count(c.covering) == 0
	lib.adds(c)
}

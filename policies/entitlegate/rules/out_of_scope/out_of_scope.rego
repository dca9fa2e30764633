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
	some pid, _ in input.products
	data.config.products[pid].licensed
	claims := [c | some c in lib.adding; c.product == pid; count(c.covering) == 0]
	count(claims) > 0
	message := sprintf(
		"%s: no entitlement covers scope %s; deploy where the product is entitled, or extend an entitlement's scope (ask %s)",
		[pid, lib.scope_text(claims[0].scope), lib.owners(pid)],
	)
}

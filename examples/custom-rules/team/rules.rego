# METADATA
# title: Team rules (an example of an organisation's own rules)
# description: |
#   Custom rules live under package entitlegate.custom.<name> and add
#   `violation` and `warning` findings ({code, message, product?, entitlement?,
#   resources?}) beside the built-in ones. They read the same input as the
#   built-in rules (docs/policy.md). Put helper functions in another package:
#   the decision gathers every rule of entitlegate.custom.* by name.
package entitlegate.custom.team

# METADATA
# description: No single deployment may take more than 32 vCPU of a licensed product.
violation contains {
	"code": "TEAM_LARGE_DEPLOYMENT",
	"product": c.product,
	"message": sprintf("%s: %s asks for %d vCPU in one deployment; the platform team caps one deployment at 32, split it or ask #platform", [c.product, c.resource, c.quantity]),
	"resources": [c.resource],
} if {
	some c in input.claims
	c.metric == "vcpu"
	c.quantity != null
	c.quantity > 32
}

# METADATA
# description: Licensed software deployed without an environment cannot be audited per environment.
warning contains {
	"code": "TEAM_NO_ENVIRONMENT",
	"product": c.product,
	"message": sprintf("%s: %s has no environment; label its namespace with entitlegate.io/environment", [c.product, c.resource]),
	"resources": [c.resource],
} if {
	some c in input.claims
	not c.scope.environment
}

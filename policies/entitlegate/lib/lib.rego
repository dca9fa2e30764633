# METADATA
# title: Shared helpers of the built-in rules
# description: |
#   Severity settings, finding construction and the facts the engine prepared
#   (claims, pools, products). Rules read data.config (set once per config) and
#   input (one change, prepared by the engine's accounting).
package entitlegate.lib

# METADATA
# description: True when the config's defaults make this setting a violation.
denies(setting) if data.config.defaults[setting] == "deny"

# METADATA
# description: A finding in the decision contract's shape.
finding(code, pid, entitlement, message, resources) := {
	"code": code,
	"product": pid,
	"entitlement": entitlement,
	"message": message,
	"resources": resources,
}

# METADATA
# scope: document
# description: Claims that add to usage, or whose quantity is unknown.
adding contains claim if {
	some claim in input.claims
	claim.quantity == null
}

adding contains claim if {
	some claim in input.claims
	claim.quantity != null
	claim.peak > 0
}

# METADATA
# description: Covering entitlements and exceptions that give capacity now.
usable(claim) := [c | some c in claim.covering; c.state in {"active", "grace"}]

# METADATA
# description: The resources of a list of claims, in order, without repeats.
resources(claims) := sort({c.resource | some c in claims})

# METADATA
# description: Who to ask for more capacity for a product (the owners of its entitlements).
owners(pid) := concat(", ", data.config.products[pid].owners) if {
	count(data.config.products[pid].owners) > 0
} else := "the licence owner"

# METADATA
# scope: document
# description: A number as a person writes it (no trailing .0).
num(x) := sprintf("%d", [x]) if x == round(x)

num(x) := sprintf("%.2f", [x]) if x != round(x)

# METADATA
# description: Adding claims of a product that are covered, but by no usable entitlement.
unusable(pid) := [c |
	some c in adding
	c.product == pid
	count(c.covering) > 0
	count(usable(c)) == 0
]

# METADATA
# description: Some covering entitlement has ended.
has_expired(claim) if {
	some e in claim.covering
	e.state == "expired"
}

# METADATA
# description: The pools the adding claims of a product are charged to.
charged_pools(pid) := {charge.pool |
	some c in input.claims
	c.product == pid
	c.quantity != null
	c.peak > 0
	some charge in c.charged
}

# METADATA
# scope: document
# description: A scope as a person reads it.
scope_text(scope) := concat(", ", [sprintf("%s=%s", [k, v]) | some k, v in scope]) if count(scope) > 0

scope_text(scope) := "(none given)" if count(scope) == 0

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
# description: |
#   A claim that adds to usage, or whose quantity is unknown. (A function over
#   the claims array, not a set of claims: sets of large objects cost a hash
#   of each whole object, which grows badly with big plans.)
adds(claim) if claim.quantity == null

adds(claim) if {
	claim.quantity != null
	claim.peak > 0
}

# METADATA
# description: Covering entitlements and exceptions that give capacity now.
usable(claim) := [c | some c in claim.covering; _usable_states[c.state]]

# METADATA
# description: Some covering entitlement or exception gives capacity now (no list built).
has_usable(claim) if {
	some c in claim.covering
	_usable_states[c.state]
}

_usable_states := {"active": true, "grace": true}

# METADATA
# description: Products with a claim that does not fit (one pass over the claims per decision).
over_products contains c.product if {
	some c in input.claims
	c.overflow > 0
}

# METADATA
# description: Products with a claim whose peak does not fit.
peak_over_products contains c.product if {
	some c in input.claims
	c.peakOverflow > 0
}

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
# description: |
#   A number as a person writes it (no trailing .0; two decimals otherwise).
#   Native string builtins, not sprintf: sprintf is a call out of WebAssembly
#   into JavaScript, and it was most of the cost of a decision with findings.
num(x) := format_int(x, 10) if x == round(x)

num(x) := concat("", [sign, format_int(whole, 10), ".", substring(format_int(100 + cents, 10), 1, 2)]) if {
	x != round(x)
	sign := _sign(x)
	hundredths := round(abs(x) * 100)
	whole := floor(hundredths / 100)
	cents := hundredths - (whole * 100)
}

_sign(x) := "-" if x < 0

_sign(x) := "" if x >= 0

# METADATA
# description: |
#   Adding claims that are covered, but by no usable entitlement. A rule, not
#   a function: evaluated once per decision (one pass over the claims) and
#   shared by the rules that ask per product.
unusable_claims := [c |
	some c in input.claims
	count(c.covering) > 0
	adds(c)
	not has_usable(c)
]

# METADATA
# description: Adding claims of a product that are covered, but by no usable entitlement.
unusable(pid) := [c | some c in unusable_claims; c.product == pid]

# Products with a claim no usable pool covers: rules iterate these, not every product.
unusable_products contains c.product if {
	some c in unusable_claims
}

# METADATA
# description: Every covering entitlement or exception has ended.
all_expired(claim) if {
	count(claim.covering) > 0
	count([e | some e in claim.covering; e.state == "expired"]) == count(claim.covering)
}

# METADATA
# description: The first covering entitlement or exception that starts in the future.
first_future(claim) := [e | some e in claim.covering; e.state == "future"][0]

# [product, pool] of every charge of an adding claim: one pass per decision.
adding_charges contains [c.product, charge.pool] if {
	some c in input.claims
	c.quantity != null
	c.peak > 0
	some charge in c.charged
}

# METADATA
# scope: document
# description: A scope as a person reads it.
scope_text(scope) := concat(", ", [concat("=", [k, v]) | some k, v in scope]) if count(scope) > 0

scope_text(scope) := "(none given)" if count(scope) == 0

# METADATA
# title: entitlegate decision
# description: |
#   Gathers the findings of the built-in rules (data.entitlegate.rules.*) and of
#   an organisation's own rules (data.entitlegate.custom.*) into one decision.
#   This is the entrypoint compiled to WebAssembly.
package entitlegate

defaults := {"product": null, "entitlement": null, "resources": []}

_violations contains object.union(defaults, f) if {
	some name

	# packages are iterated by name: no `in` form names them
	# regal ignore:mixed-iteration
	some f in data.entitlegate.rules[name].violation
}

_violations contains object.union(defaults, f) if {
	some name

	# packages are iterated by name: no `in` form names them
	# regal ignore:mixed-iteration
	some f in data.entitlegate.custom[name].violation
}

_warnings contains object.union(defaults, f) if {
	some name

	# packages are iterated by name: no `in` form names them
	# regal ignore:mixed-iteration
	some f in data.entitlegate.rules[name].warning
}

_warnings contains object.union(defaults, f) if {
	some name

	# packages are iterated by name: no `in` form names them
	# regal ignore:mixed-iteration
	some f in data.entitlegate.custom[name].warning
}

default allowed := false

allowed if count(_violations) == 0

allowed if input.mode == "warn"

# METADATA
# description: The decision for one change.
# entrypoint: true
decision := {
	"allowed": allowed,
	"violations": [f | some f in _violations],
	"warnings": [f | some f in _warnings],
}

package entitlegate.rules.unknown_quantity_test

import data.entitlegate.rules.unknown_quantity

change := {"claims": [{
	"product": "ora", "metric": "vcpu", "quantity": null, "peak": 0,
	"resource": "Deployment/a/b", "unknownReason": "container db has no CPU limit or request",
}]}

test_unknown_denied if {
	v := unknown_quantity.violation with input as change with data.config as {"defaults": {"unknownQuantity": "deny"}}
	some f in v
	f.code == "UNKNOWN_QUANTITY"
	contains(f.message, "container db has no CPU limit or request")
}

test_unknown_warned if {
	count(unknown_quantity.warning) == 1 with input as change with data.config as {"defaults": {"unknownQuantity": "warn"}}
	count(unknown_quantity.violation) == 0 with input as change with data.config as {"defaults": {"unknownQuantity": "warn"}}
}

test_default_reason if {
	c := object.remove(change.claims[0], ["unknownReason"])
	v := unknown_quantity.violation with input as {"claims": [c]} with data.config as {"defaults": {"unknownQuantity": "deny"}}
	some f in v
	contains(f.message, "the quantity cannot be determined")
}

test_remedy_from_the_adapter if {
	c := object.union(change.claims[0], {"remedy": "add db.x9 under terraform.instanceTypes in the config"})
	v := unknown_quantity.violation with input as {"claims": [c]} with data.config as {"defaults": {"unknownQuantity": "deny"}}
	some f in v
	endswith(f.message, "; add db.x9 under terraform.instanceTypes in the config")
}

test_default_remedy_names_no_format if {
	v := unknown_quantity.violation with input as change with data.config as {"defaults": {"unknownQuantity": "deny"}}
	some f in v
	endswith(f.message, "; set the quantity explicitly in the input")
}

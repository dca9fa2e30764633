package entitlegate.rules.unlicensed_test

import data.entitlegate.rules.unlicensed

change := {
	"products": {"sap": {"metric": "users"}},
	"claims": [{"product": "sap", "quantity": 5, "peak": 5, "resource": "Deployment/a/b", "covering": []}],
}

test_unlicensed_denied if {
	v := unlicensed.violation with input as change
		with data.config as {"defaults": {"unlicensed": "deny"}, "products": {"sap": {"licensed": false}}}
	some f in v
	f.code == "UNLICENSED"
	f.resources == ["Deployment/a/b"]
}

test_unlicensed_warned if {
	w := unlicensed.warning with input as change
		with data.config as {"defaults": {"unlicensed": "warn"}, "products": {"sap": {"licensed": false}}}
	count(w) == 1
	count(unlicensed.violation) == 0 with input as change
		with data.config as {"defaults": {"unlicensed": "warn"}, "products": {"sap": {"licensed": false}}}
}

test_licensed_product_is_not_unlicensed if {
	count(unlicensed.violation) == 0 with input as change
		with data.config as {"defaults": {"unlicensed": "deny"}, "products": {"sap": {"licensed": true}}}
}

test_removal_of_unlicensed_is_fine if {
	removal := {"products": change.products, "claims": [object.union(change.claims[0], {"quantity": -5, "peak": 0})]}
	count(unlicensed.violation) == 0 with input as removal
		with data.config as {"defaults": {"unlicensed": "deny"}, "products": {"sap": {"licensed": false}}}
}

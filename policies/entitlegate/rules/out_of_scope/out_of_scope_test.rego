package entitlegate.rules.out_of_scope_test

import data.entitlegate.rules.out_of_scope

cfg := {"defaults": {}, "products": {"ora": {"licensed": true}}, "entitlements": {}}

claim(covering, scope) := {
	"product": "ora", "quantity": 2, "peak": 2, "scope": scope,
	"resource": "Deployment/dev/db", "covering": covering,
}

test_uncovered_scope_is_out_of_scope if {
	v := out_of_scope.violation with input as {"products": {"ora": {}}, "claims": [claim([], {"environment": "dev"})]}
		with data.config as cfg
	some f in v
	f.code == "OUT_OF_SCOPE"
	contains(f.message, "environment=dev")
}

test_empty_scope_is_named if {
	v := out_of_scope.violation with input as {"products": {"ora": {}}, "claims": [claim([], {})]}
		with data.config as cfg
	some f in v
	contains(f.message, "(none given)")
}

test_covered_claim_is_in_scope if {
	count(out_of_scope.violation) == 0 with input as {"products": {"ora": {}}, "claims": [claim([{"id": "E", "state": "active"}], {})]}
		with data.config as cfg
}

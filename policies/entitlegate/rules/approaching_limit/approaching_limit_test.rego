package entitlegate.rules.approaching_limit_test

import data.entitlegate.rules.approaching_limit

ora(projected) := {"metric": "vcpu", "capacity": 64, "requested": 4, "projected": projected}

test_at_threshold_warns if {
	w := approaching_limit.warning with input as {"products": {"ora": ora(52)}, "claims": []}
		with data.config as {"defaults": {"warnAt": 0.8}}
	some f in w
	f.code == "APPROACHING_LIMIT"
	contains(f.message, "52 of 64 vcpu")
	contains(f.message, "(81%)")
}

test_below_threshold_is_quiet if {
	count(approaching_limit.warning) == 0 with input as {"products": {"ora": ora(40)}, "claims": []}
		with data.config as {"defaults": {"warnAt": 0.8}}
}

test_over_capacity_is_not_a_warning if {
	count(approaching_limit.warning) == 0 with input as {"products": {"ora": ora(70)}, "claims": []}
		with data.config as {"defaults": {"warnAt": 0.8}}
}

test_a_product_with_a_claim_that_does_not_fit_is_not_approaching if {
	over := {"products": {"ora": ora(41)}, "claims": [{"product": "ora", "overflow": 8}]}
	count(approaching_limit.warning) == 0 with input as over
		with data.config as {"defaults": {"warnAt": 0.8}}
}

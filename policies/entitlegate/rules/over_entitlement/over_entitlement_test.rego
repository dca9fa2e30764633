package entitlegate.rules.over_entitlement_test

import data.entitlegate.rules.over_entitlement

cfg := {"defaults": {}, "products": {"ora": {"owners": ["dba@example.com"]}}}

ora := {"metric": "vcpu", "capacity": 64, "used": 60, "requested": 8, "projected": 68, "peak": 68}

pools := {"ORA": {"kind": "entitlement", "capacity": 64, "used": 60}}

claim(overflow) := {
	"product": "ora", "quantity": 8, "peak": 8, "overflow": overflow,
	"resource": "Deployment/prod/db",
	"covering": [{"id": "ORA", "kind": "entitlement", "state": "active"}],
}

test_over_names_product_entitlement_and_shortfall if {
	v := over_entitlement.violation with input as {"products": {"ora": ora}, "claims": [claim(4)], "pools": pools}
		with data.config as cfg
	count(v) == 1
	some f in v
	f.code == "OVER_ENTITLEMENT"
	f.entitlement == "ORA"
	f.resources == ["Deployment/prod/db"]
	contains(f.message, "68 vcpu projected exceeds the 64 vcpu covered (60 used + 8 requested)")
	contains(f.message, "reduce the request by 4 vcpu")
	contains(f.message, "dba@example.com")
}

test_fitting_claim_is_no_violation if {
	count(over_entitlement.violation) == 0 with input as {"products": {"ora": ora}, "claims": [claim(0)], "pools": pools}
		with data.config as cfg
}

test_without_usable_pool_is_left_to_other_rules if {
	c := object.union(claim(2), {"covering": [{"id": "ORA", "kind": "entitlement", "state": "expired"}]})
	count(over_entitlement.violation) == 0 with input as {"products": {"ora": ora}, "claims": [c], "pools": pools}
		with data.config as cfg
}

test_owner_fallback if {
	v := over_entitlement.violation with input as {"products": {"ora": ora}, "claims": [claim(2)], "pools": pools}
		with data.config as {"defaults": {}, "products": {"ora": {"owners": []}}}
	some f in v
	contains(f.message, "the licence owner")
}

test_counts_only_the_pools_the_claim_can_use if {
	# a dev pool with room (in the product's totals) does not help a prod claim
	totals := {"metric": "vcpu", "capacity": 48, "used": 30, "requested": 11, "projected": 41}
	prod := {
		"product": "ora", "quantity": 10, "peak": 10, "overflow": 8, "resource": "Deployment/prod/db",
		"covering": [{"id": "PROD", "kind": "entitlement", "state": "active"}],
	}
	dev := {
		"product": "ora", "quantity": 1, "peak": 1, "overflow": 0, "resource": "Deployment/dev/db",
		"covering": [{"id": "DEV", "kind": "entitlement", "state": "active"}],
	}
	v := over_entitlement.violation with input as {
		"products": {"ora": totals},
		"claims": [prod, dev],
		"pools": {"PROD": {"capacity": 32, "used": 30}, "DEV": {"capacity": 16, "used": 0}},
	}
		with data.config as cfg
	some f in v
	contains(f.message, "40 vcpu projected exceeds the 32 vcpu covered (30 used + 10 requested)")
	f.resources == ["Deployment/prod/db"]
}

package entitlegate.rules.exception_applied_test

import data.entitlegate.rules.exception_applied

cfg := {"exceptions": {"EXC-7": {"reason": "cutover", "approvedBy": "bob", "until": "2026-12-15"}}}

change(kind) := {
	"claims": [{"product": "ora", "resource": "Deployment/p/db", "charged": [{"pool": "EXC-7", "quantity": 4}]}],
	"pools": {"EXC-7": {"kind": kind}},
}

test_exception_charge_warns if {
	w := exception_applied.warning with input as change("exception") with data.config as cfg
	some f in w
	f.code == "EXCEPTION_APPLIED"
	f.entitlement == "EXC-7"
	contains(f.message, "approved by bob")
}

test_entitlement_charge_is_quiet if {
	count(exception_applied.warning) == 0 with input as change("entitlement") with data.config as cfg
}

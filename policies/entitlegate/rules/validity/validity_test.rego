package entitlegate.rules.validity_test

import data.entitlegate.rules.validity

cfg := {"defaults": {"expiryWarningDays": 30}, "entitlements": {}}

claim(covering) := {
	"product": "ora", "quantity": 4, "peak": 4, "resource": "Pod/a/b",
	"covering": covering, "charged": [],
}

codes(findings) := {f.code | some f in findings}

test_all_expired_is_expired if {
	c := claim([{"id": "E1", "kind": "entitlement", "state": "expired"}])
	v := validity.violation with input as {"products": {"ora": {}}, "claims": [c]}
		with data.config as cfg
	codes(v) == {"EXPIRED"}
	some f in v
	f.entitlement == "E1"
	contains(f.message, "ora: entitlement E1 has expired; renew it")
}

test_an_expired_exception_is_called_an_exception if {
	c := claim([{"id": "EXC-7", "kind": "exception", "state": "expired"}])
	v := validity.violation with input as {"products": {"ora": {}}, "claims": [c]}
		with data.config as cfg
	codes(v) == {"EXPIRED"}
	some f in v
	f.entitlement == "EXC-7"
	contains(f.message, "ora: exception EXC-7 has expired; an exception is time-boxed")
	not contains(f.message, "entitlement EXC-7")
	not contains(f.message, "renew it")
}

test_a_future_exception_is_called_an_exception if {
	c := claim([{"id": "EXC-8", "kind": "exception", "state": "future", "daysToStart": 2}])
	v := validity.violation with input as {"products": {"ora": {}}, "claims": [c]}
		with data.config as cfg
	some f in v
	f.code == "NOT_YET_VALID"
	contains(f.message, "ora: exception EXC-8 is not valid yet (it starts in 2 days)")
}

test_ended_and_future_waits_for_the_future_one if {
	c := claim([
		{"id": "E1", "kind": "entitlement", "state": "expired"},
		{"id": "E2", "kind": "entitlement", "state": "future", "daysToStart": 3},
	])
	v := validity.violation with input as {"products": {"ora": {}}, "claims": [c]}
		with data.config as cfg
	codes(v) == {"NOT_YET_VALID"}
	some f in v
	f.entitlement == "E2"
	contains(f.message, "E2 is not valid yet (it starts in 3 days)")
}

test_all_future_is_not_yet_valid if {
	c := claim([{"id": "E2", "kind": "entitlement", "state": "future", "daysToStart": 3}])
	v := validity.violation with input as {"products": {"ora": {}}, "claims": [c]}
		with data.config as cfg
	codes(v) == {"NOT_YET_VALID"}
	some f in v
	contains(f.message, "ora: entitlement E2 is not valid yet (it starts in 3 days)")
}

test_one_active_covers if {
	c := claim([{"id": "E1", "state": "expired"}, {"id": "E3", "state": "active"}])
	count(validity.violation) == 0 with input as {"products": {"ora": {}}, "claims": [c]}
		with data.config as cfg
}

charged_input(pool) := {
	"products": {"ora": {}},
	"claims": [object.union(claim([{"id": "E1", "state": pool.state}]), {"charged": [{"pool": "E1", "quantity": 4}]})],
	"pools": {"E1": pool},
}

test_grace_warns if {
	w := validity.warning with input as charged_input({"kind": "entitlement", "state": "grace", "graceDaysLeft": 5, "daysLeft": null})
		with data.config as cfg
	codes(w) == {"IN_GRACE_PERIOD"}
}

test_expiring_soon_warns if {
	w := validity.warning with input as charged_input({"kind": "entitlement", "state": "active", "daysLeft": 12})
		with data.config as cfg
	codes(w) == {"EXPIRING_SOON"}
	some f in w
	contains(f.message, "ends in 12 days")
}

test_far_expiry_is_quiet if {
	count(validity.warning) == 0 with input as charged_input({"kind": "entitlement", "state": "active", "daysLeft": 200})
		with data.config as cfg
}

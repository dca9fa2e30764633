package entitlegate_test

import data.entitlegate

cfg := {
	"defaults": {"warnAt": 0.8, "expiryWarningDays": 30, "unlicensed": "deny", "unknownQuantity": "deny", "peak": "warn"},
	"products": {"ora": {"licensed": true, "owners": ["dba@x"]}},
	"entitlements": {"E": {"product": "ora", "owner": "dba@x"}},
	"exceptions": {},
}

over := {
	"mode": "enforce",
	"products": {"ora": {"metric": "vcpu", "capacity": 64, "used": 60, "requested": 8, "projected": 68, "peak": 68}},
	"claims": [{
		"product": "ora", "metric": "vcpu", "quantity": 8, "peak": 8, "scope": {}, "resource": "Deployment/p/db",
		"covering": [{"id": "E", "kind": "entitlement", "state": "active"}], "charged": [{"pool": "E", "quantity": 4}],
		"overflow": 4, "peakOverflow": 4,
	}],
	"pools": {"E": {"kind": "entitlement", "state": "active", "daysLeft": 100}},
}

test_enforce_blocks_on_violation if {
	d := entitlegate.decision with input as over with data.config as cfg
	d.allowed == false
	[f.code | some f in d.violations] == ["OVER_ENTITLEMENT"]
}

test_warn_mode_allows_but_reports if {
	d := entitlegate.decision with input as object.union(over, {"mode": "warn"}) with data.config as cfg
	d.allowed == true
	count(d.violations) == 1
}

test_custom_findings_get_contract_fields if {
	d := entitlegate.decision with input as object.union(over, {"claims": [], "products": {}})
		with data.config as cfg
		with entitlegate.custom.team.violation as {{"code": "TEAM_RULE", "message": "m"}}
		with entitlegate.custom.team.warning as {{"code": "TEAM_NOTE", "message": "n"}}
	d.violations == [{"code": "TEAM_RULE", "message": "m", "product": null, "entitlement": null, "resources": []}]
	d.warnings == [{"code": "TEAM_NOTE", "message": "n", "product": null, "entitlement": null, "resources": []}]
	d.allowed == false
}

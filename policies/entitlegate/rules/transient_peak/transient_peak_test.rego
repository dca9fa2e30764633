package entitlegate.rules.transient_peak_test

import data.entitlegate.rules.transient_peak

change(overflow) := {
	"products": {"ora": {"metric": "vcpu", "capacity": 16, "projected": 16, "peak": 20}},
	"claims": [{
		"product": "ora", "resource": "Deployment/p/db", "overflow": overflow, "peakOverflow": 4,
		"covering": [{"id": "E", "state": "active"}],
	}],
}

test_peak_warns_by_default if {
	w := transient_peak.warning with input as change(0) with data.config as {"defaults": {"peak": "warn"}}
	some f in w
	f.code == "TRANSIENT_PEAK"
	contains(f.message, "briefly needs 20 vcpu")
}

test_peak_denied_when_configured if {
	count(transient_peak.violation) == 1 with input as change(0) with data.config as {"defaults": {"peak": "deny"}}
}

test_net_overflow_is_not_a_peak_finding if {
	count(transient_peak.warning) == 0 with input as change(2) with data.config as {"defaults": {"peak": "warn"}}
}

package entitlegate.custom.team_test

import data.entitlegate.custom.team

claim(quantity, scope) := {"product": "ora", "metric": "vcpu", "quantity": quantity, "scope": scope, "resource": "Deployment/p/db"}

test_large_deployment_is_a_violation if {
	v := team.violation with input as {"claims": [claim(40, {"environment": "prod"})]}
	some f in v
	f.code == "TEAM_LARGE_DEPLOYMENT"
	contains(f.message, "40 vCPU")
}

test_normal_deployment_passes if {
	count(team.violation) == 0 with input as {"claims": [claim(8, {"environment": "prod"})]}
}

test_missing_environment_warns if {
	w := team.warning with input as {"claims": [claim(8, {})]}
	count(w) == 1
}

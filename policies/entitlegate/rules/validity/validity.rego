# METADATA
# title: EXPIRED, NOT_YET_VALID, IN_GRACE_PERIOD, EXPIRING_SOON
# description: |
#   Term checks. The engine tells each covering entitlement's state at `now`
#   (active, grace, expired, future) and its days left; these rules decide.
package entitlegate.rules.validity

import data.entitlegate.lib

# METADATA
# description: |
#   Every covering entitlement or exception has ended (past validUntil +
#   graceDays, or past an exception's until). The message names the first in
#   charge order, as what it is: an entitlement is renewed, an exception is not.
violation contains lib.finding("EXPIRED", pid, pool.id, message, lib.resources(claims)) if {
	some pid in lib.unusable_products
	claims := [c | some c in lib.unusable(pid); lib.all_expired(c)]
	count(claims) > 0
	pool := claims[0].covering[0]
	message := concat("", [
		pid,
		": ",
		pool.kind,
		" ",
		pool.id,
		" has expired; ",
		after_expiry[pool.kind],
		" (ask ",
		lib.owners(pid),
		") before deploying",
	])
}

# METADATA
# description: |
#   No covering entitlement or exception is valid now and one starts in the
#   future (any others have ended): the change has to wait for it.
violation contains lib.finding("NOT_YET_VALID", pid, next.id, message, lib.resources(claims)) if {
	some pid in lib.unusable_products
	claims := [c | some c in lib.unusable(pid); not lib.all_expired(c)]
	count(claims) > 0
	next := lib.first_future(claims[0])
	message := concat("", [
		pid,
		": ",
		next.kind,
		" ",
		next.id,
		" is not valid yet (it starts in ",
		lib.num(next.daysToStart),
		" days); wait for its start or use an entitlement valid now",
	])
}

# METADATA
# description: The change is charged to an entitlement that has ended but is in its grace period.
warning contains lib.finding("IN_GRACE_PERIOD", pid, id, message, []) if {
	some [pid, id] in lib.adding_charges
	pool := input.pools[id]
	pool.state == "grace"
	message := concat("", [
		pid,
		": entitlement ",
		id,
		" has ended and is in its grace period (",
		lib.num(pool.graceDaysLeft),
		" days left); renew it",
	])
}

# METADATA
# description: The change is charged to an entitlement that ends within expiryWarningDays.
warning contains lib.finding("EXPIRING_SOON", pid, id, message, []) if {
	some [pid, id] in lib.adding_charges
	pool := input.pools[id]
	pool.kind == "entitlement"
	pool.state == "active"
	pool.daysLeft != null
	pool.daysLeft <= data.config.defaults.expiryWarningDays
	message := concat("", [pid, ": entitlement ", id, " ends in ", lib.num(pool.daysLeft), " days; plan its renewal"])
}

# What to do once a pool has ended, by its kind.
after_expiry := {
	"entitlement": "renew it",
	"exception": "an exception is time-boxed: get a new one approved, or an entitlement",
}

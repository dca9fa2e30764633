package entitlegate.lib_test

import data.entitlegate.lib

test_num_formats_whole_and_fractional if {
	lib.num(4) == "4"
	lib.num(2.5) == "2.50"
}

test_owners_lists_each_owner_once if {
	lib.owners("ora") == "a@x, b@x" with data.config as {"entitlements": {
		"E1": {"product": "ora", "owner": "b@x"},
		"E2": {"product": "ora", "owner": "a@x"},
		"E3": {"product": "ora", "owner": "a@x"},
	}}
}

test_owners_default if {
	lib.owners("ora") == "the licence owner" with data.config as {"entitlements": {}}
}

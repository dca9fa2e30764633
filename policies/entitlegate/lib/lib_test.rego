package entitlegate.lib_test

import data.entitlegate.lib

test_num_formats_whole_and_fractional if {
	lib.num(4) == "4"
	lib.num(2.5) == "2.50"
}

test_owners_lists_the_owners if {
	lib.owners("ora") == "a@x, b@x" with data.config as {"products": {"ora": {"owners": ["a@x", "b@x"]}}}
}

test_owners_default if {
	lib.owners("ora") == "the licence owner" with data.config as {"products": {"ora": {"owners": []}}}
	lib.owners("sap") == "the licence owner" with data.config as {"products": {}}
}

package entitlegate.lib_test

import data.entitlegate.lib

test_num_formats_whole_and_fractional if {
	lib.num(4) == "4"
	lib.num(2.5) == "2.50"
	lib.num(1.0625) == "1.06"
	lib.num(-0.5) == "-0.50"
	lib.num(0.999) == "1.00"
}

test_owners_lists_the_owners if {
	lib.owners("ora") == "a@x, b@x" with data.config as {"products": {"ora": {"owners": ["a@x", "b@x"]}}}
}

test_owners_default if {
	lib.owners("ora") == "the licence owner" with data.config as {"products": {"ora": {"owners": []}}}
	lib.owners("sap") == "the licence owner" with data.config as {"products": {}}
}

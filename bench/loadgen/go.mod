module entitlegate/bench/loadgen

go 1.22

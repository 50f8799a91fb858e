module act-bench/gofloor

go 1.21

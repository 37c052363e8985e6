module github.com/posimport/posimport/services/posimport

go 1.26.8

require (
	github.com/posimport/posimport/pkg v0.0.0
	github.com/spf13/cobra v1.10.2
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/shopspring/decimal v1.6.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
)

replace (
	github.com/posimport/posimport/pkg => ../../pkg
	github.com/posimport/posimport/proto => ../../proto
)
